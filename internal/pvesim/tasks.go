package pvesim

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Tasks (PVE::RESTEnvironment fork_worker, PVE::UPID, pve-manager
// API2/Tasks.pm).
//
// Nothing runs in the background: a task is a chain of steps, each due at
// a point of the simulated clock. Every API call that reaches its handler,
// and the controls tests use (Task, Tasks, ...), first run the steps due
// (Sim.advance), in time order, so a ManualClock drives tasks as well as
// the real clock does. Like PVE, the power tasks of one container
// serialise on its config lock (/run/lock/lxc/pve-config-<vmid>.lock): a
// task that cannot get it within 10 s fails with "can't lock file ... -
// got timeout".

// task is one worker.
type task struct {
	upid   string
	node   *node
	pid    int64
	pstart int64
	start  time.Time
	typ    string
	id     string
	user   string
	serial int64 // creation order

	lines []logLine // output, each visible from its time on
	done  bool
	end   time.Time
	exit  string // "OK" or the error text, once done

	next   time.Time       // when step is due
	step   func(time.Time) // the pending step, nil if none
	seq    int64           // orders steps due at the same instant
	onLock func(time.Time) // what to do once the config lock is ours
}

type logLine struct {
	at   time.Time
	text string
}

// flock is a container's config lock: one holder, waiters in order.
type flock struct {
	holder *task
	queue  []*task
}

const (
	lockTimeout = 10 * time.Second       // lock_config's flock timeout
	errorDelay  = 100 * time.Millisecond // a task failing right after it started
	noopDelay   = 200 * time.Millisecond // a task with nothing to do
)

// dur scales a simulated duration by Options.TaskDurationScale.
func (s *Sim) dur(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// newTask forks a worker on the node handling c. Called with s.mu held.
func (s *Sim) newTask(c *call, typ, id string) *task {
	n := c.node
	now := s.now()
	pid := n.nextPID
	n.nextPID += 1 + int64(mix64(uint64(pid))%23)
	if n.nextPID > 4194000 {
		n.nextPID = 3000
	}
	pstart := int64(now.Sub(n.boot) / (10 * time.Millisecond)) // clock ticks since boot (USER_HZ 100)
	t := &task{
		node:   n,
		pid:    pid,
		pstart: pstart,
		start:  now.Truncate(time.Second),
		typ:    typ,
		id:     id,
		user:   c.user,
		serial: int64(len(s.tasks)),
	}
	t.upid = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", n.name, pid, pstart, now.Unix(), typ, id, c.user)
	s.tasks[t.upid] = t
	return t
}

// schedule makes fn t's next step, due at at.
func (s *Sim) schedule(t *task, at time.Time, fn func(time.Time)) {
	if t.step == nil && !t.done {
		found := false
		for _, a := range s.active {
			if a == t {
				found = true
				break
			}
		}
		if !found {
			s.active = append(s.active, t)
		}
	}
	s.seq++
	t.next, t.step, t.seq = at, fn, s.seq
}

// advance runs every step due at or before now, earliest first.
func (s *Sim) advance(now time.Time) {
	for {
		var best *task
		for _, t := range s.active {
			if t.step == nil || t.next.After(now) {
				continue
			}
			if best == nil || t.next.Before(best.next) || (t.next.Equal(best.next) && t.seq < best.seq) {
				best = t
			}
		}
		if best == nil {
			return
		}
		fn, at := best.step, best.next
		best.step = nil
		fn(at)
	}
}

// log adds an output line to t, visible from at on.
func (t *task) log(at time.Time, text string) {
	t.lines = append(t.lines, logLine{at: at, text: text})
}

// finish ends t at at with exit ("OK" or an error text) and hands the
// config lock on.
func (s *Sim) finish(t *task, at time.Time, exit string) {
	if t.done {
		return
	}
	t.done, t.end, t.exit, t.step = true, at, exit, nil
	kept := t.lines[:0]
	for _, l := range t.lines {
		if !l.at.After(at) {
			kept = append(kept, l)
		}
	}
	t.lines = kept
	for i, a := range s.active {
		if a == t {
			s.active = append(s.active[:i], s.active[i+1:]...)
			break
		}
	}
	s.releaseLock(t, at)
}

// fail ends t shortly after at with err (a Perl die inside the worker).
func (s *Sim) fail(t *task, at time.Time, err string) {
	s.schedule(t, at.Add(s.dur(errorDelay)), func(end time.Time) { s.finish(t, end, err) })
}

// succeed ends t after d with "OK", running effect first.
func (s *Sim) succeed(t *task, at time.Time, d time.Duration, effect func(time.Time)) {
	s.schedule(t, at.Add(d), func(end time.Time) {
		if effect != nil {
			effect(end)
		}
		s.finish(t, end, "OK")
	})
}

func (s *Sim) flockKey(t *task) string { return t.node.name + "/" + t.id }

// withConfigLock runs begin once t holds the container's config lock, or
// fails t when it has waited lock_config's 10 s (scaled) for it.
func (s *Sim) withConfigLock(t *task, at time.Time, begin func(time.Time)) {
	key := s.flockKey(t)
	fl := s.flocks[key]
	if fl == nil {
		fl = &flock{}
		s.flocks[key] = fl
	}
	if fl.holder == nil {
		fl.holder = t
		s.schedule(t, at, begin)
		return
	}
	t.onLock = begin
	fl.queue = append(fl.queue, t)
	s.schedule(t, at.Add(s.dur(lockTimeout)), func(end time.Time) {
		s.dequeue(t)
		s.finish(t, end, fmt.Sprintf("can't lock file '/run/lock/lxc/pve-config-%s.lock' - got timeout", t.id))
	})
}

// dequeue removes t from the waiters of its container's config lock.
func (s *Sim) dequeue(t *task) {
	fl := s.flocks[s.flockKey(t)]
	if fl == nil {
		return
	}
	for i, q := range fl.queue {
		if q == t {
			fl.queue = append(fl.queue[:i], fl.queue[i+1:]...)
			return
		}
	}
}

// releaseLock gives the config lock held by t to the next waiter.
func (s *Sim) releaseLock(t *task, at time.Time) {
	key := s.flockKey(t)
	fl := s.flocks[key]
	if fl == nil {
		return
	}
	s.dequeue(t)
	if fl.holder != t {
		return
	}
	fl.holder = nil
	if len(fl.queue) > 0 {
		next := fl.queue[0]
		fl.queue = fl.queue[1:]
		fl.holder = next
		s.schedule(next, at, next.onLock)
		return
	}
	delete(s.flocks, key)
}

// upidRe is PVE::UPID::decode's pattern.
var upidRe = regexp.MustCompile(`^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$`)

// decodedUPID is what PVE::UPID::decode returns.
type decodedUPID struct {
	node                   string
	pid, pstart, starttime int64
	typ, id, user          string
}

func decodeUPID(upid string) (decodedUPID, bool) {
	m := upidRe.FindStringSubmatch(upid)
	if m == nil {
		return decodedUPID{}, false
	}
	hex := func(s string) int64 {
		v, _ := strconv.ParseInt(s, 16, 64)
		return v
	}
	return decodedUPID{node: m[1], pid: hex(m[3]), pstart: hex(m[4]), starttime: hex(m[5]),
		typ: m[6], id: m[7], user: m[8]}, true
}

func (s *Sim) taskRoutes(rr *router) {
	nodeParam := prop{Type: "string", Format: "pve-node"}
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

func fptr(f float64) *float64 { return &f }

// taskOnNode returns the task whose log file exists on n.
func (s *Sim) taskOnNode(n *node, upid string) *task {
	t := s.tasks[upid]
	if t == nil || t.node != n {
		return nil
	}
	return t
}

// checkTaskUser: a user sees their own tasks; others' need Sys.Audit on
// the node named in the URL.
func (s *Sim) checkTaskUser(c *call, owner string) *apiError {
	if owner == c.user {
		return nil
	}
	node, _ := c.params.str("node")
	return s.perms.check(c.user, "/nodes/"+node, "Sys.Audit")
}

// taskStatus is GET /nodes/{node}/tasks/{upid}/status.
func (s *Sim) taskStatus(c *call) (any, *apiError) {
	upid, _ := c.params.str("upid")
	d, ok := decodeUPID(upid)
	if !ok {
		return nil, paramError(map[string]string{"upid": "unable to parse worker upid"})
	}
	t := s.taskOnNode(c.node, upid)
	if t == nil {
		return nil, paramError(map[string]string{"upid": "no such task"})
	}
	if err := s.checkTaskUser(c, d.user); err != nil {
		return nil, err
	}
	res := map[string]any{
		"upid":      upid,
		"node":      d.node,
		"pid":       d.pid,
		"pstart":    d.pstart,
		"starttime": d.starttime,
		"type":      d.typ,
		"id":        d.id,
		"user":      d.user,
		"status":    "running",
	}
	if t.done {
		res["status"] = "stopped"
		res["exitstatus"] = t.exit
	}
	return res, nil
}

// linesAt is the task's log file as it reads at now.
func (t *task) linesAt(now time.Time) []string {
	var out []string
	for _, l := range t.lines {
		if !l.at.After(now) {
			out = append(out, l.text)
		}
	}
	if t.done {
		if t.exit == "OK" {
			out = append(out, "TASK OK")
		} else {
			out = append(out, "TASK ERROR: "+t.exit)
		}
	}
	return out
}

// taskLog is GET /nodes/{node}/tasks/{upid}/log (dump_logfile).
func (s *Sim) taskLog(c *call) (any, *apiError) {
	upid, _ := c.params.str("upid")
	d, ok := decodeUPID(upid)
	if !ok {
		return nil, paramError(map[string]string{"upid": "unable to parse worker upid"})
	}
	if err := s.checkTaskUser(c, d.user); err != nil {
		return nil, err
	}
	t := s.taskOnNode(c.node, upid)
	if dl, _ := c.params.str("download"); perlTrue(dl, true) {
		if c.params.has("start") || c.params.has("limit") {
			return nil, internalError("'download' cannot be used together with 'start' or 'limit' parameters\n")
		}
		if t == nil {
			hexStart := strings.Split(upid, ":")[4]
			return nil, internalError("Could not open file '/var/log/pve/tasks/%s/%s' - No such file or directory\n",
				hexStart[len(hexStart)-1:], upid)
		}
		body := strings.Join(t.linesAt(s.now()), "\n") + "\n"
		name := fmt.Sprintf("task-%s-%s-%s.log", d.node, d.typ, time.Unix(d.starttime, 0).UTC().Format("2006-01-02T15:04:05Z"))
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
		all = t.linesAt(s.now())
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
	Type       string // "vzstart", "vzstop", "vzshutdown", "vzreboot"
	ID         string // the vmid
	User       string
	Status     string // "running" or "stopped"
	ExitStatus string // "OK" or the error; "" while running
	Start      time.Time
	End        time.Time // zero while running
	Log        []string  // the log as GET .../log would show it, without "no content"
}

func (t *task) info(now time.Time) TaskInfo {
	ti := TaskInfo{UPID: t.upid, Node: t.node.name, Type: t.typ, ID: t.id, User: t.user,
		Status: "running", Start: t.start, Log: t.linesAt(now)}
	if t.done {
		ti.Status, ti.ExitStatus, ti.End = "stopped", t.exit, t.end
	}
	return ti
}

// Task returns the task with the given UPID, its state computed at the
// current simulated time.
func (s *Sim) Task(upid string) (TaskInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.advance(now)
	t := s.tasks[upid]
	if t == nil {
		return TaskInfo{}, false
	}
	return t.info(now), true
}

// Tasks returns every task started so far, oldest first.
func (s *Sim) Tasks() []TaskInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.advance(now)
	ts := make([]*task, 0, len(s.tasks))
	for _, t := range s.tasks {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].serial < ts[j].serial })
	out := make([]TaskInfo, len(ts))
	for i, t := range ts {
		out[i] = t.info(now)
	}
	return out
}
