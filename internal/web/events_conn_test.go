package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
	"github.com/lxc-manager/lxc-manager/internal/web"
)

// An event stream is written on a connection taken over from net/http:
// its response still carries the security headers and is a well-formed
// chunked stream, the access line says 200, and a page that closes is
// noticed within a couple of seconds although nothing is written to it
// (the poll interval and the heartbeat are far longer): its stream leaves
// the registry, and with it the user's poller.
func TestEventStreamOnTakenOverConnection(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, LiveInterval: time.Minute, Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(t)
	if r := login(t, st, c, "root", "pam", "proxmox"); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.status)
	}
	s := openEvents(t, st, c, "")
	nextUpdate(t, s, "the page")
	h := s.resp.Header
	if !strings.Contains(h.Get("Content-Security-Policy"), "'nonce-") || h.Get("X-Request-Id") == "" ||
		h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers of the stream: %v", h)
	}
	if len(s.resp.TransferEncoding) != 1 || s.resp.TransferEncoding[0] != "chunked" {
		t.Errorf("transfer encoding %v, want chunked", s.resp.TransferEncoding)
	}
	if !strings.Contains(st.Logs.String(), `path=/events route="GET /events" status=200`) {
		t.Error("the access line of the stream does not say 200")
	}
	if n := web.OpenStreams(st.Server.Config.Handler); n != 1 {
		t.Fatalf("%d open streams, want 1", n)
	}
	_ = s.resp.Body.Close()
	deadline := time.Now().Add(3 * time.Second)
	for web.OpenStreams(st.Server.Config.Handler) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream of a closed page is still open 3 s later")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A HEAD of the stream answers its head and no body, and opens no stream
// (one nobody reads would run until the connection closed).
func TestEventStreamHead(t *testing.T) {
	st := apptest.Start(t, apptest.Options{MemorySessions: true, LiveInterval: time.Minute, Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(t)
	if r := login(t, st, c, "root", "pam", "proxmox"); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodHead, st.URL+"/events", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if n := web.OpenStreams(st.Server.Config.Handler); n != 0 {
		t.Errorf("a HEAD opened %d streams", n)
	}
}
