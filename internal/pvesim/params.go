package pvesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Parameter values as the simulator sees them, mirroring what Perl ends up
// with after decode_urlencoded/decode_json:
//
//	nil            an undefined value ("key" or "key=" in a form: treated as absent)
//	string         a scalar (JSON numbers are kept as their Perl string form)
//	bool           a JSON true/false
//	[]any          an array (a repeated form key, or a JSON array)
//	map[string]any a JSON object
type params map[string]any

// str returns the scalar value of name and whether it is defined.
func (p params) str(name string) (string, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return "", false
	}
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		if t {
			return "1", true
		}
		return "0", true
	}
	return fmt.Sprint(v), true
}

// has reports whether name is defined.
func (p params) has(name string) bool {
	v, ok := p[name]
	return ok && v != nil
}

// perlTrue is Perl truthiness of a scalar: "" and "0" are false.
func perlTrue(s string, defined bool) bool { return perl.True(s, defined) }

// unescapeForm decodes '+' and %XX like decode_urlencoded. Invalid escapes
// are kept literally.
func unescapeForm(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// decodeURLEncoded is pveproxy's decode_urlencoded: pairs split on '&' or
// ';', each pair split on '=' Perl-style (so "a=" and "a" leave the value
// undefined and "a=b=c" keeps only "b"); a repeated key becomes an array.
func decodeURLEncoded(data string) params {
	res := params{}
	if data == "" {
		return res
	}
	for _, kv := range perl.Split(data, func(r rune) bool { return r == '&' || r == ';' }) {
		parts := perl.Split(kv, func(r rune) bool { return r == '=' })
		k := ""
		if len(parts) > 0 {
			k = unescapeForm(parts[0])
		}
		if len(parts) < 2 {
			res[k] = nil
			continue
		}
		v := any(unescapeForm(parts[1]))
		if old, ok := res[k]; ok && old != nil {
			if arr, ok := old.([]any); ok {
				v = append(arr, v)
			} else {
				v = []any{old, v}
			}
		}
		res[k] = v
	}
	return res
}

// contentType is parse_content_type: the part before the first ';' or ','.
func contentType(h string) string {
	if i := strings.IndexAny(h, ";,"); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSpace(h)
}

// decodeJSONParams decodes a JSON request body into params. The value must
// be an object.
func decodeJSONParams(body []byte) (params, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("malformed JSON string: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("garbage after JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		//lint:ignore ST1005 this is PVE's own message, kept verbatim
		return nil, fmt.Errorf("Not a HASH reference")
	}
	return params(normalizeJSON(obj).(map[string]any)), nil
}

// normalizeJSON turns json.Number into the string Perl would print for it.
func normalizeJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		return perl.Number(string(t))
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeJSON(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalizeJSON(e)
		}
		return t
	}
	return v
}

// extractParams is pveproxy's extract_params: POST and PUT take a form or
// JSON body, query parameters are merged in and override, "_dc" is dropped.
func extractParams(r *http.Request, body []byte) (params, *apiError) {
	p := params{}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if contentType(r.Header.Get("Content-Type")) == "application/json" {
			jp, err := decodeJSONParams(body)
			if err != nil {
				return nil, internalError("%s\n", err.Error())
			}
			p = jp
		} else {
			p = decodeURLEncoded(string(body))
		}
	}
	for k, v := range decodeURLEncoded(r.URL.RawQuery) {
		p[k] = v
	}
	delete(p, "_dc")
	return p, nil
}
