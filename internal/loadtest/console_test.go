package loadtest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// consolePath is the console socket the benchmark opens: CT 101 of the
// demo scenario, running on pve1.
const consolePath = "/containers/pve1/101/console/ws"

// runConsolesHelper is the browsers of BenchmarkConsoleIdleMemory: it
// opens one console at base per stdin line "console COOKIE" (the session
// cookie's name=value) up to "go", each once the one before showed its
// prompt, answers "ready" once all did (or "fail REASON"), and holds them
// open, reading what comes, until its input ends.
func runConsolesHelper(base string) int {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 64<<10)
	var cookies []string
	for in.Scan() && in.Text() != "go" {
		if c, ok := strings.CutPrefix(in.Text(), "console "); ok {
			cookies = append(cookies, c)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One after another, as people open them: opened all at once, the
	// dashboard's checks would grow its pool of API connections to PVE,
	// and that would be counted as the consoles' memory.
	ready := make(chan error, 1)
	for _, ck := range cookies {
		go holdConsole(ctx, base, ck, ready)
		if err := <-ready; err != nil {
			fmt.Println("fail " + err.Error())
			return 1
		}
	}
	fmt.Println("ready")
	for in.Scan() {
	}
	return 0
}

// holdConsole opens a console as a browser does, reports on ready once its
// prompt arrived, then reads it until ctx ends.
func holdConsole(ctx context.Context, base, cookie string, ready chan<- error) {
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h := http.Header{"Sec-Fetch-Mode": {"websocket"}, "Origin": {base}, "Cookie": {cookie}}
	ws, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(base, "http")+consolePath, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		ready <- fmt.Errorf("console socket: %w", err)
		return
	}
	defer ws.CloseNow()
	var out bytes.Buffer
	for !bytes.Contains(out.Bytes(), []byte("# ")) {
		typ, p, err := ws.Read(dialCtx)
		if err != nil {
			ready <- fmt.Errorf("waiting for the prompt: %w", err)
			return
		}
		if typ == websocket.MessageBinary {
			out.Write(p)
		}
	}
	ready <- nil
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
	}
}

// openConsoles opens a console per cookie in a helper process of its own
// and returns once all of them showed their prompt; they stay open until
// the benchmark ends.
func openConsoles(t testing.TB, base string, cookies []string) *helper {
	t.Helper()
	h := startHelper(t, consolesHelperEnv+"="+base)
	for _, c := range cookies {
		fmt.Fprintln(h.in, "console "+c)
	}
	fmt.Fprintln(h.in, "go")
	if l := h.line(t); l != "ready" {
		t.Fatalf("consoles helper: %s", l)
	}
	return h
}

// BenchmarkConsoleIdleMemory is the memory an idle open console costs the
// dashboard alone: the simulator (termproxy behind pveproxy's websocket)
// and the browsers run in processes of their own, so this process holds
// only the dashboard's side of each console (the browser's socket, the
// relay, the websocket to PVE with its TLS connection). See
// measureConsoles; 25 sessions, 100 consoles. The target, under 64 KiB,
// is held against the warm figure; the cold one is reported beside it.
//
//	go test -run '^$' -bench BenchmarkConsoleIdleMemory -benchtime=1x ./internal/loadtest
func BenchmarkConsoleIdleMemory(b *testing.B) {
	if os.Getenv("CONSOLE_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation in the profile
	}
	for range b.N {
		cold, warm := measureConsoles(b, 25, 4)
		b.ReportMetric(warm.heap, "heap-B/console")
		b.ReportMetric(warm.stack, "stack-B/console")
		b.ReportMetric(warm.heap+warm.stack, "B/console")
		b.ReportMetric(cold.heap+cold.stack, "cold-B/console")
		b.ReportMetric(warm.goroutines, "goroutines/console")
		b.Logf("per console, cold: %s", cold)
		b.Logf("per console, warm: %s", warm)
		if total := warm.heap + warm.stack; total >= 64<<10 {
			b.Errorf("%.0f bytes per idle console, want under 64 KiB", total)
		}
	}
}

// TestConsolesLetGo is the small version for the suite: an idle console
// holds two goroutines in the dashboard, and once the browsers leave,
// every one of them ends.
func TestConsolesLetGo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	cold, warm := measureConsoles(t, 3, 3)
	for _, c := range []consoleCost{cold, warm} {
		if c.goroutines != 2 {
			t.Errorf("%.2f goroutines per idle console, want 2", c.goroutines)
		}
	}
}

// measureConsoles runs a dashboard against a simulator in a process of
// its own; sessions sign in and open one console each (their PVE client
// and the pools come into being), then perSession-1 more each, one after
// another, in a browsers' process of their own. The growth of heap in use
// and goroutine stacks is divided by those consoles, twice: cold (the
// process has not held as many yet: the garbage of opening them leaves
// partly used spans behind) and warm (after those closed and every
// goroutine of theirs ended, as in a dashboard that has been running).
func measureConsoles(t testing.TB, sessions, perSession int) (cold, warm consoleCost) {
	t.Helper()
	if os.Getenv("REDIS_URL") != "" {
		t.Skip("needs a redis-server of its own: unset REDIS_URL")
	}
	sim := startHelper(t, simHelperEnv+"=demo")
	_, base := startDashboard(t, sim.line(t), 0)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookies := make([]string, sessions)
	for i := range cookies {
		cookies[i] = signIn(t, c, base, "root", "pam", "proxmox")
	}
	c.CloseIdleConnections()
	first := openConsoles(t, base, cookies)
	defer first.in.Close()
	var more []string
	for range perSession - 1 {
		more = append(more, cookies...)
	}
	n := float64(len(more))

	cold0 := settledMemory()
	coldOnes := openConsoles(t, base, more)
	cold = settledMemory().perConsole(cold0, n)
	_ = coldOnes.in.Close()
	_ = coldOnes.cmd.Wait()
	// The dashboard notices the browsers left and lets their consoles go.
	deadline := time.Now().Add(10 * time.Second)
	for settledMemory().goroutines > cold0.goroutines {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines 10 s after the consoles closed, %d before they opened", settledMemory().goroutines, cold0.goroutines)
		}
		time.Sleep(20 * time.Millisecond)
	}

	before := settledMemory()
	if f := os.Getenv("CONSOLE_HEAP_PROFILE"); f != "" {
		writeHeapProfile(t, f+".before")
	}
	warmOnes := openConsoles(t, base, more)
	defer warmOnes.in.Close()
	warm = settledMemory().perConsole(before, n)
	if f := os.Getenv("CONSOLE_HEAP_PROFILE"); f != "" {
		writeHeapProfile(t, f)
	}
	return cold, warm
}

// consoleCost is what one console adds, on average.
type consoleCost struct{ heap, objects, stack, goroutines float64 }

func (c consoleCost) String() string {
	return fmt.Sprintf("%.0f B heap in use (%.0f B of it objects), %.0f B stacks, %.1f goroutines", c.heap, c.objects, c.stack, c.goroutines)
}

// perConsole is what each of n consoles opened between base and m added.
func (m memory) perConsole(base memory, n float64) consoleCost {
	return consoleCost{
		heap:       (float64(m.HeapInuse) - float64(base.HeapInuse)) / n,
		objects:    (float64(m.HeapAlloc) - float64(base.HeapAlloc)) / n,
		stack:      (float64(m.StackInuse) - float64(base.StackInuse)) / n,
		goroutines: float64(m.goroutines-base.goroutines) / n,
	}
}

// memory is heap in use, goroutine stacks and goroutines at one moment.
type memory struct {
	runtime.MemStats
	goroutines int
}

// settledMemory collects a few times (each collection also shrinks stacks
// that grew for a moment) and reads the memory in use.
func settledMemory() memory {
	for range 3 {
		runtime.GC()
	}
	var m memory
	runtime.ReadMemStats(&m.MemStats)
	m.goroutines = runtime.NumGoroutine()
	return m
}

// writeHeapProfile writes the heap in use now to name, to see what holds
// it (go tool pprof -sample_index=inuse_space).
func writeHeapProfile(t testing.TB, name string) {
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}
