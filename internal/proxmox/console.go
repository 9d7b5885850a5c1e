package proxmox

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// The container console: POST /nodes/{node}/lxc/{vmid}/termproxy starts
// PVE's termproxy and answers a ticket bound to the user, the container
// and its port (single use, valid about 40 s); GET .../vncwebsocket on the
// same PVE address, with the person's cookie, connects to it; the first
// message is "<user>:<ticket>\n", and termproxy answers "OK" before the
// terminal's output. Keystrokes go as "0:<byte length>:<data>", window
// sizes as "1:<cols>:<rows>:", a ping as "2".

const (
	// consoleReadLimit bounds one message from PVE (pveproxy sends at
	// most 128 KiB at a time).
	consoleReadLimit = 256 << 10
	// consoleChunk is the most keystroke data sent in one message
	// (pveproxy refuses client frames over 128 KiB).
	consoleChunk = 32 << 10
)

// termproxyAnswer is POST .../termproxy's data.
type termproxyAnswer struct {
	User   string `json:"user"`
	Ticket string `json:"ticket"`
	Port   Num    `json:"port"`
	UPID   string `json:"upid"`
}

// ErrConsoleRefused means PVE closed the console before its handshake
// ended: termproxy did not accept the ticket.
var ErrConsoleRefused = errors.New("PVE closed the console before it opened")

// OpenConsole opens a terminal on container vmid on node, as id: it asks
// for a termproxy, connects its websocket and performs the handshake. A
// person without VM.Console gets an EForbidden error from the first step.
// The console of a stopped container opens, prints PVE's complaint and
// ends (Next returns io.EOF).
func (c *Client) OpenConsole(ctx context.Context, id lxc.Identity, node string, vmid int) (lxc.Console, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var tp termproxyAnswer
	path := "/nodes/" + url.PathEscape(node) + "/lxc/" + strconv.Itoa(vmid)
	err := c.do(ctx, request{method: http.MethodPost, path: path + "/termproxy", route: "/nodes/{node}/lxc/{vmid}/termproxy",
		form: url.Values{}, id: &id}, &tp)
	if err != nil {
		return nil, err
	}
	op := "GET " + path + "/vncwebsocket"
	start := time.Now()
	con, err := c.dialConsole(ctx, op, id, path, tp)
	if c.observe != nil {
		outcome := "ok"
		if err != nil {
			outcome = string(lxc.ErrorCode(err))
		}
		c.observe("GET /nodes/{node}/lxc/{vmid}/vncwebsocket", outcome, time.Since(start))
	}
	return con, err
}

func (c *Client) dialConsole(ctx context.Context, op string, id lxc.Identity, path string, tp termproxyAnswer) (*Console, error) {
	u := *c.base
	u.Scheme = "wss"
	u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + "/api2/json" + path + "/vncwebsocket"
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = url.Values{"port": {strconv.FormatInt(tp.Port.Int(), 10)}, "vncticket": {tp.Ticket}}.Encode()
	h := http.Header{}
	h.Set("Cookie", (&http.Cookie{Name: "PVEAuthCookie", Value: url.QueryEscape(id.Ticket)}).String())
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: c.ws, HTTPHeader: h, Subprotocols: []string{"binary"},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			e := statusError(op, resp, envelope{})
			if e.Kind == lxc.EUnauthorized {
				// The console ticket was refused, not the session's.
				e.Kind = lxc.EInternal
			}
			return nil, e
		}
		return nil, transportError(op, err)
	}
	ws.SetReadLimit(consoleReadLimit)
	con := &Console{ws: ws}
	if err := ws.Write(ctx, websocket.MessageBinary, []byte(tp.User+":"+tp.Ticket+"\n")); err != nil {
		_ = ws.CloseNow()
		return nil, transportError(op, err)
	}
	if err := con.awaitOK(ctx); err != nil {
		_ = ws.CloseNow()
		if errors.Is(err, io.EOF) {
			return nil, &Error{Op: op, Kind: lxc.EInternal, Err: ErrConsoleRefused}
		}
		return nil, transportError(op, err)
	}
	return con, nil
}

// websocketClient is the HTTP client that opens consoles' websockets:
// the same TLS settings (pin, CA, verification) as the API client, but
// connections of their own, so that open consoles never hold the API's
// bounded connections, and none kept idle.
func websocketClient(tlsConf *tls.Config) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tlsConf,
			TLSHandshakeTimeout: 5 * time.Second,
			DisableKeepAlives:   true,
		},
		CheckRedirect: noRedirect,
	}
}

// Console is an open termproxy session (lxc.Console).
type Console struct {
	ws      *websocket.Conn
	pending io.Reader // output that came with "OK"
}

// awaitOK reads termproxy's "OK"; output after it in the same message is
// kept for the first Next.
func (con *Console) awaitOK(ctx context.Context) error {
	var got []byte
	for len(got) < 2 {
		_, r, err := con.ws.Reader(ctx)
		if err != nil {
			return endOf(err)
		}
		b := make([]byte, 2-len(got))
		n, err := io.ReadFull(r, b)
		got = append(got, b[:n]...)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		if len(got) == 2 {
			// The reader is bound to ctx, which ends with the dial: keep
			// the rest of this message as bytes.
			rest, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if len(rest) > 0 {
				con.pending = bytes.NewReader(rest)
			}
		}
	}
	if !bytes.Equal(got, []byte("OK")) {
		return fmt.Errorf("termproxy answered %q instead of OK", got)
	}
	return nil
}

// Next waits for the next piece of output.
func (con *Console) Next(ctx context.Context) (io.Reader, error) {
	if r := con.pending; r != nil {
		con.pending = nil
		return r, nil
	}
	_, r, err := con.ws.Reader(ctx)
	if err != nil {
		return nil, endOf(err)
	}
	return r, nil
}

// endOf turns the ways a websocket ends into io.EOF: pveproxy closes the
// connection without a close frame when termproxy exits.
func endOf(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		websocket.CloseStatus(err) != -1:
		return io.EOF
	}
	return err
}

// Input sends keystrokes, in messages of at most consoleChunk bytes.
func (con *Console) Input(ctx context.Context, p []byte) error {
	for len(p) > 0 {
		n := min(len(p), consoleChunk)
		msg := make([]byte, 0, n+16)
		msg = append(msg, "0:"...)
		msg = strconv.AppendInt(msg, int64(n), 10)
		msg = append(msg, ':')
		msg = append(msg, p[:n]...)
		if err := con.ws.Write(ctx, websocket.MessageBinary, msg); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// Resize sends the window size.
func (con *Console) Resize(ctx context.Context, cols, rows int) error {
	return con.ws.Write(ctx, websocket.MessageBinary, []byte("1:"+strconv.Itoa(cols)+":"+strconv.Itoa(rows)+":"))
}

// Ping sends termproxy's ping, which it ignores; it keeps proxies from
// closing a quiet connection.
func (con *Console) Ping(ctx context.Context) error {
	return con.ws.Write(ctx, websocket.MessageBinary, []byte("2"))
}

// Close ends the console: a close frame, after which PVE ends termproxy.
func (con *Console) Close() error {
	err := con.ws.Close(websocket.StatusNormalClosure, "")
	if err != nil && endOf(err) == io.EOF {
		return nil
	}
	return err
}
