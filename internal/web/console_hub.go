package web

import (
	"context"
	"math"
	"strconv"
	"time"
)

const (
	// consolesPerSession caps the consoles one session has open on an
	// instance; one more is refused (not evicted, unlike live streams).
	consolesPerSession = 4
	// consoleCheckEvery is how often a session with open consoles is
	// looked up in the store, so that a sign-out anywhere closes them
	// within about a second.
	consoleCheckEvery = 500 * time.Millisecond
	// defaultConsoleIdle is CONSOLE_IDLE_TIMEOUT's default.
	defaultConsoleIdle = 30 * time.Minute
	// consoleGoodbye bounds how long shutdown waits for consoles to tell
	// their terminals.
	consoleGoodbye = 2 * time.Second
)

// consoleHub keeps this instance's open consoles: a stream registry of
// their own (separate caps from the live-update streams, and a shorter
// session check), and the shutdown signal.
type consoleHub struct {
	reg  *streamRegistry
	idle time.Duration
	// downCtx ends when the server shuts down (consoles watch it with
	// context.AfterFunc, without a goroutine each).
	downCtx context.Context
	goDown  context.CancelFunc
	open    takenConns // the open consoles
}

// enter counts a console in; false once the server is shutting down.
func (h *consoleHub) enter() bool { return h.open.enter() }

// left counts a console out.
func (h *consoleHub) left() { h.open.wg.Done() }

func newConsoleHub(s *Server) *consoleHub {
	idle := s.cfg.ConsoleIdleTimeout
	if idle <= 0 {
		idle = defaultConsoleIdle
	}
	every := min(consoleCheckEvery, s.liveInterval())
	downCtx, goDown := context.WithCancel(context.Background())
	return &consoleHub{
		reg:     newStreamRegistry(consolesPerSession, math.MaxInt, every, s.streamSessionEnded),
		idle:    idle,
		downCtx: downCtx,
		goDown:  goDown,
	}
}

// shutdown tells every open console that the server is stopping, waits a
// moment for them to say so to their terminals, and stops the session
// checks.
func (h *consoleHub) shutdown() {
	h.goDown()
	h.open.shutdown(consoleGoodbye)
	h.reg.close()
}

// spelledDuration says d in words: "30 minutes", "1 minute", "45 seconds".
func spelledDuration(d time.Duration) string {
	n, unit := int(d/time.Second), "second"
	if d >= time.Minute && d%time.Minute == 0 {
		n, unit = int(d/time.Minute), "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}
