package tasks

import (
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

func TestUPIDRoundTrip(t *testing.T) {
	nodes, _ := state.NewNodes([]string{"pve1"}, time.Unix(1700000000, 0))
	e := NewEngine(1)
	now := time.Unix(1772366400, 0)
	task := e.Start(nodes[0], "vzstart", "101", "alice@pve", now)
	d, ok := DecodeUPID(task.UPID)
	if !ok || d.Node != "pve1" || d.PID != task.PID || d.PStart != task.PStart || d.StartTime != now.Unix() ||
		d.Type != "vzstart" || d.ID != "101" || d.User != "alice@pve" {
		t.Errorf("%s decodes to %+v", task.UPID, d)
	}
	for _, bad := range []string{"", "UPID:pve1:1:2:3:x:1:u:", task.UPID[:len(task.UPID)-1]} {
		if _, ok := DecodeUPID(bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestStatusType(t *testing.T) {
	for status, want := range map[string]string{"": "unknown", "OK": "ok", "WARNINGS: 2": "warning",
		"unexpected status": "unknown", "CT is locked (backup)": "error"} {
		if got := StatusType(status); got != want {
			t.Errorf("StatusType(%q) = %s, want %s", status, got, want)
		}
	}
}

func TestConfigLockQueue(t *testing.T) {
	nodes, _ := state.NewNodes([]string{"pve1"}, time.Unix(1700000000, 0))
	e := NewEngine(1)
	now := time.Unix(1772366400, 0)
	var order []string
	run := func(name string, queued time.Time, d time.Duration) *Task {
		task := e.Start(nodes[0], "vzstop", "101", "root@pam", queued)
		e.WithConfigLock(task, queued, func(at time.Time) {
			order = append(order, name)
			e.Succeed(task, at, d, nil)
		})
		return task
	}
	first := run("first", now, 15*time.Second)                  // holds the lock until +15 s
	second := run("second", now.Add(time.Second), time.Second)  // gives up at +11 s
	third := run("third", now.Add(12*time.Second), time.Second) // gets it at +15 s
	e.Advance(now.Add(time.Minute))
	if len(order) != 2 || order[0] != "first" || order[1] != "third" {
		t.Errorf("order %v", order)
	}
	if second.Exit != "can't lock file '/run/lock/lxc/pve-config-101.lock' - got timeout" || second.End != now.Add(11*time.Second) {
		t.Errorf("the waiter that timed out: %q at %v", second.Exit, second.End)
	}
	if first.Exit != "OK" || third.Exit != "OK" || third.End != now.Add(16*time.Second) {
		t.Errorf("first %+v third %+v", first, third)
	}
}
