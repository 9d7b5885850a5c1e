package session

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// respValue is one RESP3 value, as much of it as the tracking connection
// needs: a kind (the type byte), a string (simple, blob, verbatim,
// number, error text), elements (array, set, push; a map's keys and
// values in turn) and whether it is null.
type respValue struct {
	kind  byte
	str   string
	elems []respValue
	null  bool
}

// errRESP means the server sent something that is not RESP3.
var errRESP = errors.New("session: tracking: not a RESP3 answer")

// maxRESPLen bounds a blob or aggregate, so a confused peer cannot make the
// reader allocate without end.
const maxRESPLen = 64 << 20

// readRESP reads one value. Attributes (|) are read and dropped.
func readRESP(r *bufio.Reader) (respValue, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return respValue{}, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return respValue{}, errRESP
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-', ':', ',', '(', '#':
		return respValue{kind: kind, str: body}, nil
	case '_':
		return respValue{kind: kind, null: true}, nil
	case '$', '!', '=':
		n, err := respLen(body)
		if err != nil || n < 0 {
			return respValue{kind: kind, null: true}, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return respValue{}, err
		}
		return respValue{kind: kind, str: string(buf[:n])}, nil
	case '*', '~', '>', '%', '|':
		n, err := respLen(body)
		if err != nil || n < 0 {
			return respValue{kind: kind, null: true}, err
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		v := respValue{kind: kind, elems: make([]respValue, 0, min(n, 1024))}
		for range n {
			e, err := readRESP(r)
			if err != nil {
				return respValue{}, err
			}
			v.elems = append(v.elems, e)
		}
		if kind == '|' { // an attribute precedes the value it describes
			return readRESP(r)
		}
		return v, nil
	}
	return respValue{}, fmt.Errorf("%w: type %q", errRESP, kind)
}

// respLen reads the length of a blob or aggregate (-1: null in RESP2).
func respLen(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n > maxRESPLen || n < -1 {
		return 0, errRESP
	}
	return n, nil
}

// appendCommand appends args as a RESP array of blob strings.
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
