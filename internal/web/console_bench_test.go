package web_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
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

// BenchmarkConsoleIdleMemory is the memory an idle open console costs:
// 100 consoles (25 sessions, 4 each) are opened and left idle, and the
// growth of the heap in use and of goroutine stacks is divided by their
// number. The whole process is measured: the dashboard's side (browser
// socket, relay, PVE websocket) and, in this test, also the simulator's
// termproxy and the benchmark's browser sockets.
func BenchmarkConsoleIdleMemory(b *testing.B) {
	const sessions, perSession = 25, 4
	if os.Getenv("CONSOLE_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	for range b.N {
		st := apptest.Start(b, apptest.Options{MemorySessions: true, Sim: pvesim.Options{Scenario: "demo"}})
		clients := make([]*http.Client, sessions)
		for i := range clients {
			clients[i] = st.Client(b)
			if code := benchLogin(b, st, clients[i]); code != http.StatusSeeOther {
				b.Fatalf("sign-in: %d", code)
			}
		}
		// One console first, so that pools and the shared session exist.
		warm := benchConsole(b, st, clients[0])
		before := memInUse()
		var open []*websocket.Conn
		for i := range sessions {
			for j := range perSession {
				if i == 0 && j == 0 {
					continue
				}
				open = append(open, benchConsole(b, st, clients[i]))
			}
		}
		after := memInUse()
		if f := os.Getenv("CONSOLE_HEAP_PROFILE"); f != "" {
			writeHeapProfile(b, f)
		}
		n := len(open)
		b.ReportMetric(float64(after.heap-before.heap)/float64(n), "heap-B/console")
		b.ReportMetric(float64(after.stack-before.stack)/float64(n), "stack-B/console")
		b.ReportMetric(float64(after.heap+after.stack-before.heap-before.stack)/float64(n), "B/console")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/console")
		for _, ws := range append(open, warm) {
			_ = ws.CloseNow()
		}
	}
}

// writeHeapProfile writes the heap in use now, to see which side of the
// console holds what (go tool pprof -sample_index=inuse_space).
func writeHeapProfile(b *testing.B, name string) {
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

type memSample struct{ heap, stack, goroutines int64 }

// memInUse is the heap in use and the goroutine stacks after a full GC,
// once output has settled.
func memInUse() memSample {
	time.Sleep(200 * time.Millisecond) // let the prompts' redraws finish
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: int64(m.HeapInuse), stack: int64(m.StackInuse), goroutines: int64(runtime.NumGoroutine())}
}
