package web_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
	"github.com/lxc-manager/lxc-manager/internal/pvesim"
)

// benchConsole opens a console on CT 101 as c and reads its prompt.
func benchConsole(b *testing.B, st *apptest.Stack, c *http.Client) *websocket.Conn {
	b.Helper()
	ws, _, err := dialConsole(st, c, "pve1", 101, st.URL)
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	for !bytes.Contains(out.Bytes(), []byte("# ")) {
		typ, p, err := ws.Read(ctx)
		if err != nil {
			b.Fatalf("console: %v", err)
		}
		if typ == websocket.MessageBinary {
			out.Write(p)
		}
	}
	return ws
}

// BenchmarkConsoleRelay is the relay of `yes` through the dashboard:
// simulator (termproxy behind pveproxy's websocket, over TLS) ->
// dashboard -> browser socket. Throughput is terminal output received by
// the browser (MB/s); each operation is 1 MiB of it.
func BenchmarkConsoleRelay(b *testing.B) {
	st := apptest.Start(b, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
	c := st.Client(b)
	if code := benchLogin(b, st, c); code != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", code)
	}
	ws := benchConsole(b, st, c)
	defer ws.CloseNow()
	ctx := context.Background()
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("yes\r")); err != nil {
		b.Fatal(err)
	}
	const chunk = 1 << 20
	b.SetBytes(chunk)
	b.ResetTimer()
	for range b.N {
		got := 0
		for got < chunk {
			_, p, err := ws.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(p)
		}
	}
	b.StopTimer()
	_ = ws.Write(ctx, websocket.MessageBinary, []byte{3})
}

// The memory of an idle console, for the dashboard alone, is measured in
// internal/loadtest (BenchmarkConsoleIdleMemory), with the simulator and
// the browsers in processes of their own.
