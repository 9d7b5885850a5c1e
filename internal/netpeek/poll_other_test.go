//go:build !linux

package netpeek_test

import "time"

// pollIn waits a moment (poll(2) is only called on Linux here).
func pollIn(uintptr) { time.Sleep(10 * time.Millisecond) }
