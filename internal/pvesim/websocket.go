package pvesim

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/console"
)

// pveproxy's websocket proxy (pve-http-server AnyEvent.pm
// handle_api2_request and websocket_proxy), written out as pveproxy does
// it rather than with a library: after the handler answered 200, a GET
// whose path ends in "websocket" and that asks for an upgrade is
// connected to localhost:<port>; only then does pveproxy answer 101,
// echoing the requested subprotocol. Client frames must be masked,
// unfragmented, without RSV bits and at most 128 KiB; their payload goes
// to the port as a byte stream. What the port sends goes to the client in
// binary frames. When the port closes, the client's connection is closed
// without a close frame.

// wsMaxPayload is websocket_proxy's $max_payload_size.
const wsMaxPayload = 128 * 1024

// wsGUID is RFC 6455's key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// upgradeWebsocket takes over the connection when pveproxy would proxy a
// websocket, and reports whether it did. Refused upgrades turn rp into
// pveproxy's 501 and are rendered by the caller.
func (s *Sim) upgradeWebsocket(w http.ResponseWriter, r *http.Request, rp *reply, c *call) bool {
	upgrade := strings.ToLower(r.Header.Get("Upgrade"))
	if c == nil || c.route == nil || upgrade == "" || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "websocket") {
		return false
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	switch ver := r.Header.Get("Sec-WebSocket-Version"); {
	case upgrade != "websocket":
		*rp = *bareReply(http.StatusNotImplemented, fmt.Sprintf("unable to upgrade to protocol '%s'\n", upgrade))
		return false
	case ver != "13":
		*rp = *bareReply(http.StatusNotImplemented, fmt.Sprintf("unsupported websocket-version '%s'\n", ver))
		return false
	case key == "":
		*rp = *bareReply(http.StatusNotImplemented, "missing websocket-key\n")
		return false
	}
	relay, ok := rp.data.(*vncRelay)
	if rp.status != http.StatusOK || !ok {
		return false
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	s.mu.Lock()
	conn := s.connectTermproxy(relay.node, relay.Port)
	s.mu.Unlock()
	nc, brw, err := hj.Hijack()
	if err != nil {
		return true
	}
	if conn == nil {
		// connect to localhost:<port> failed: nothing is answered.
		_ = nc.Close()
		return true
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	proto := r.Header.Get("Sec-WebSocket-Protocol")
	head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	if proto != "" {
		head += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	if _, err := nc.Write([]byte(head + "\r\n")); err != nil {
		_ = conn.CloseWrite()
		_ = nc.Close()
		return true
	}
	relayWebsocket(nc, brw.Reader, conn)
	return true
}

// relayWebsocket runs the proxy until either side ends.
func relayWebsocket(nc net.Conn, br *bufio.Reader, conn *console.Conn) {
	var wmu sync.Mutex
	send := func(opcode byte, payload []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_, err := nc.Write(appendFrame(nil, opcode, payload))
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			p, err := conn.Next(wsMaxPayload) // no buffer held while idle
			if len(p) > 0 && send(0x2, p) != nil {
				break
			}
			if err != nil {
				break
			}
		}
		_ = nc.Close() // client_do_disconnect: no close frame
	}()
	// Client frames until the client closes, sends a frame pveproxy dies
	// on, or termproxy stops reading.
	for {
		op, payload, err := readClientFrame(br)
		if err != nil || !clientFrame(op, payload, conn, send) {
			break
		}
	}
	_ = conn.CloseWrite()
	<-done
}

// clientFrame handles one client frame; false ends the proxy.
func clientFrame(op byte, payload []byte, conn *console.Conn, send func(byte, []byte) error) bool {
	switch op {
	case 0x1, 0x2:
		_, err := conn.Write(payload)
		return err == nil
	case 0x9: // ping: pong
		return send(0xA, payload) == nil
	case 0xA:
		return true
	}
	return false // close, or an opcode pveproxy does not handle
}

// errBadFrame is a client frame pveproxy dies on.
var errBadFrame = errors.New("bad websocket frame")

// readClientFrame reads one client frame by pveproxy's rules.
func readClientFrame(br *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 || h[0]&0x70 != 0 || h[1]&0x80 == 0 {
		return 0, nil, errBadFrame // fragmented, RSV flags, unmasked
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > wsMaxPayload {
		return 0, nil, errBadFrame
	}
	buf := make([]byte, 4+n)
	if _, err := io.ReadFull(br, buf); err != nil {
		return 0, nil, err
	}
	mask, payload := buf[:4], buf[4:]
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return h[0] & 0x0f, payload, nil
}

// appendFrame appends a server frame (FIN, unmasked).
func appendFrame(dst []byte, opcode byte, payload []byte) []byte {
	dst = append(dst, 0x80|opcode)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}
