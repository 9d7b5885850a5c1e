package pvesim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// A task's status and log (pve-manager API2/Tasks.pm).

func (s *Sim) taskRoutes(rr *router) {
	rr.add(&route{
		name: "read_task_status", method: http.MethodGet, path: "/nodes/{node}/tasks/{upid}/status",
		allowToken: true, protected: true, proxyTo: "node",
		params: schema{"node": nodeParam, "upid": {Type: "string"}},
		fn:     s.taskStatus,
	})
	rr.add(&route{
		name: "read_task_log", method: http.MethodGet, path: "/nodes/{node}/tasks/{upid}/log",
		allowToken: true, protected: true, proxyTo: "node",
		params: schema{
			"node":     nodeParam,
			"upid":     {Type: "string"},
			"start":    {Type: "integer", Optional: true, Minimum: fptr(0)},
			"limit":    {Type: "integer", Optional: true, Minimum: fptr(0)},
			"download": {Type: "boolean", Optional: true},
		},
		fn: s.taskLog,
	})
}

// taskOnNode returns the task whose log file exists on n.
func (s *Sim) taskOnNode(n *state.Node, upid string) *tasks.Task {
	t := s.tasks.Get(upid)
	if t == nil || t.Node != n {
		return nil
	}
	return t
}

// checkTaskUser: a user sees their own tasks; others' need Sys.Audit on
// the node named in the URL.
func (s *Sim) checkTaskUser(c *call, owner string) error {
	if owner == c.user {
		return nil
	}
	node, _ := c.params.str("node")
	return s.acl.Check(c.user, "/nodes/"+node, "Sys.Audit")
}

// taskStatus is GET /nodes/{node}/tasks/{upid}/status.
func (s *Sim) taskStatus(c *call) (any, error) {
	upid, _ := c.params.str("upid")
	d, ok := tasks.DecodeUPID(upid)
	if !ok {
		return nil, paramError(map[string]string{"upid": "unable to parse worker upid"})
	}
	t := s.taskOnNode(c.node, upid)
	if t == nil {
		return nil, paramError(map[string]string{"upid": "no such task"})
	}
	if err := s.checkTaskUser(c, d.User); err != nil {
		return nil, err
	}
	res := map[string]any{
		"upid":      upid,
		"node":      d.Node,
		"pid":       d.PID,
		"pstart":    d.PStart,
		"starttime": d.StartTime,
		"type":      d.Type,
		"id":        d.ID,
		"user":      d.User,
		"status":    "running",
	}
	if t.Done {
		res["status"] = "stopped"
		res["exitstatus"] = t.Exit
	}
	return res, nil
}

// taskLog is GET /nodes/{node}/tasks/{upid}/log (dump_logfile).
func (s *Sim) taskLog(c *call) (any, error) {
	upid, _ := c.params.str("upid")
	d, ok := tasks.DecodeUPID(upid)
	if !ok {
		return nil, paramError(map[string]string{"upid": "unable to parse worker upid"})
	}
	if err := s.checkTaskUser(c, d.User); err != nil {
		return nil, err
	}
	t := s.taskOnNode(c.node, upid)
	if c.flag("download") {
		if c.params.has("start") || c.params.has("limit") {
			return nil, internalError("'download' cannot be used together with 'start' or 'limit' parameters\n")
		}
		if t == nil {
			hexStart := strings.Split(upid, ":")[4]
			return nil, internalError("Could not open file '/var/log/pve/tasks/%s/%s' - No such file or directory\n",
				hexStart[len(hexStart)-1:], upid)
		}
		body := strings.Join(t.LinesAt(s.now()), "\n") + "\n"
		name := fmt.Sprintf("task-%s-%s-%s.log", d.Node, d.Type, time.Unix(d.StartTime, 0).UTC().Format("2006-01-02T15:04:05Z"))
		return &download{body: []byte(body), contentType: "text/plain",
			disposition: "attachment; filename=\"" + name + "\""}, nil
	}
	start, limit := 0, 50
	if v, ok := c.params.str("start"); ok {
		start, _ = strconv.Atoi(v)
	}
	if v, ok := c.params.str("limit"); ok {
		limit, _ = strconv.Atoi(v)
	}
	var all []string
	if t == nil {
		all = []string{"unable to open file - No such file or directory"}
		start, limit = 0, 0
	} else {
		all = t.LinesAt(s.now())
		if len(all) == 0 {
			// "ExtJS store.guaranteeRange() does not like empty array"
			all = []string{"no content"}
			start, limit = 0, 0
		}
	}
	lines := []map[string]any{}
	untilEnd := limit == 0
	for i, text := range all {
		if i < start {
			continue
		}
		if !untilEnd {
			if limit <= 0 {
				continue
			}
			limit--
		}
		lines = append(lines, map[string]any{"n": i + 1, "t": text})
	}
	return withTotal{data: lines, total: len(all)}, nil
}

// withTotal is handler data with a top-level "total" (set_result_attrib).
type withTotal struct {
	data  any
	total int
}

// TaskInfo is a snapshot of a task, for tests.
type TaskInfo struct {
	UPID       string
	Node       string
	Type       string // "vzstart", "vzstop", "vzshutdown", "vzreboot", "resize"
	ID         string // the vmid
	User       string
	Status     string    // "running" or "stopped"
	ExitStatus string    // "OK" or the error; "" while running
	Start      time.Time // whole seconds, as in the UPID
	Began      time.Time // the exact instant the task was forked
	End        time.Time // zero while running
	Log        []string  // the log as GET .../log would show it, without "no content"
}

func taskInfo(t *tasks.Task, now time.Time) TaskInfo {
	ti := TaskInfo{UPID: t.UPID, Node: t.Node.Name, Type: t.Type, ID: t.ID, User: t.User,
		Status: "running", Start: t.Start, Began: t.Began, Log: t.LinesAt(now)}
	if t.Done {
		ti.Status, ti.ExitStatus, ti.End = "stopped", t.Exit, t.End
	}
	return ti
}

// Task returns the task with the given UPID, its state computed at the
// current simulated time.
func (s *Sim) Task(upid string) (TaskInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.tasks.Advance(now)
	t := s.tasks.Get(upid)
	if t == nil {
		return TaskInfo{}, false
	}
	return taskInfo(t, now), true
}

// Tasks returns every task kept (see tasks.DefaultKeep), oldest first.
func (s *Sim) Tasks() []TaskInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.tasks.Advance(now)
	all := s.tasks.All()
	out := make([]TaskInfo, len(all))
	for i, t := range all {
		out[i] = taskInfo(t, now)
	}
	return out
}
