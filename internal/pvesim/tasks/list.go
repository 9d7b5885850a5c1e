package tasks

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// The task list of one node (pve-manager API2/Tasks.pm node_tasks): the
// archive (finished tasks, newest first, as read backwards from the task
// index) and the active tasks.

// ListFilter selects tasks like node_tasks' parameters.
type ListFilter struct {
	Node   *state.Node
	Caller string // the user asking
	SeeAll bool   // Sys.Audit on the node: every user's tasks
	Source string // "archive" (default), "active" or "all"
	// Start skips that many matching tasks; Limit caps the answer.
	Start, Limit int
	UserFilter   string // substring of the user, case-insensitive
	TypeFilter   string
	VMID         string // "" for any
	Since, Until *int64 // unix times on the start time
	Status       map[string]bool
}

// StatusType is UPID::normalize_status_type: "ok", "warning", "error" or
// "unknown" (running tasks have no status yet).
func StatusType(status string) string {
	switch {
	case status == "":
		return "unknown"
	case status == "OK":
		return "ok"
	case warningsRe.MatchString(status):
		return "warning"
	case status == "unexpected status":
		return "unknown"
	}
	return "error"
}

var warningsRe = regexp.MustCompile(`^WARNINGS: \d+$`)

// Listed is one task of the list, as the node's task files show it.
type Listed struct {
	*Task
	Active bool   // from the active list (still running)
	Status string // exit status; "RUNNING" for active tasks
}

// List returns the tasks f selects and the number of all matching tasks
// (PVE's "total", which counts past Limit).
func (e *Engine) List(f ListFilter) ([]Listed, int) {
	count := 0
	limit := f.Limit
	var out []Listed
	take := func(t *Task, status string) bool {
		if f.UserFilter != "" && !strings.Contains(strings.ToLower(t.User), strings.ToLower(f.UserFilter)) {
			return false
		}
		if !f.SeeAll && t.User != f.Caller {
			return false
		}
		if f.TypeFilter != "" && t.Type != f.TypeFilter {
			return false
		}
		if f.VMID != "" && t.ID != f.VMID {
			return false
		}
		start := t.Start.Unix()
		if f.Since != nil && start < *f.Since {
			return false
		}
		if f.Until != nil && start > *f.Until {
			return false
		}
		if !f.Status[StatusType(status)] {
			return false
		}
		count++
		if count <= f.Start {
			return false
		}
		return limit > 0
	}
	if f.Source == "active" || f.Source == "all" {
		for _, t := range e.all {
			if t.Node != f.Node || t.Done {
				continue
			}
			if take(t, "") {
				out = append(out, Listed{Task: t, Active: true, Status: "RUNNING"})
				limit--
			}
		}
	}
	if f.Source != "active" {
		var done []*Task
		for _, t := range e.all {
			if t.Node == f.Node && t.Done {
				done = append(done, t)
			}
		}
		// The index is appended as tasks end; it is read backwards.
		sort.SliceStable(done, func(i, j int) bool { return endOrder(done[j], done[i]) })
		for _, t := range done {
			if take(t, t.Exit) {
				out = append(out, Listed{Task: t, Status: t.Exit})
				limit--
			}
		}
	}
	return out, count
}

// endOrder reports whether a was archived before b.
func endOrder(a, b *Task) bool {
	if !a.End.Equal(b.End) {
		return a.End.Before(b.End)
	}
	return a.Serial < b.Serial
}

// EndTime is the task's end as the index records it (unix seconds).
func (t *Task) EndTime() int64 {
	return t.End.Truncate(time.Second).Unix()
}
