package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// taskPage is the data of the task page and of its JSON form.
type taskPage struct {
	Running    bool   `json:"running"`
	OK         bool   `json:"ok"`
	Message    string `json:"message"`
	ExitStatus string `json:"exitStatus,omitempty"`
	VMID       int    `json:"vmid"`
	Node       string `json:"node"`
	Status     string `json:"status,omitempty"` // the container's state once the task ended
	// OfferForceStop is set when a shutdown failed, for whatever reason
	// (it ran out of time, the container is locked, ...): the page then
	// offers a forced stop.
	OfferForceStop bool `json:"offerForceStop"`
	// Title heads the page (provisioning tasks; "CT <vmid>" when empty).
	Title string `json:"-"`
	// Next is where the page leads once the task ended well (tasknext.go).
	Next string `json:"next,omitempty"`
	// Log is the end of the finished task's log, as PVE wrote it (shown on
	// the task page, escaped, like PVE's own task viewer does).
	Log []string `json:"-"`
	// LogFrom is the line number (0-based) of Log's first line, LogNext
	// that of the line after its last, and LogURL where new lines are read.
	LogFrom int    `json:"-"`
	LogNext int    `json:"-"`
	LogURL  string `json:"-"`
	// Back is the page the task was started from (?back=), "" for the list;
	// Open is the page of a container the task made (a restore).
	Back string `json:"-"`
	Open string `json:"-"`
}

// taskLogLines is how much of a task's log the task page shows at first;
// taskLogMax is how many lines one read asks PVE for.
const (
	taskLogLines = 30
	taskLogMax   = 500
)

// pveEmptyLog is the line PVE's task log call answers while a task has
// logged nothing yet (its UI cannot take an empty list); a follower must not
// count it as the log's first line.
const pveEmptyLog = "no content"

// taskLogChunk is the JSON answer of GET /tasks/{node}/{upid}/log: the
// lines from Start on, where to continue, and whether the task still runs.
type taskLogChunk struct {
	Lines   []string `json:"lines"`
	Next    int      `json:"next"`
	Running bool     `json:"running"`
}

// taskLog returns a task's log lines from ?start=N (GET
// /tasks/{node}/{upid}/log) so the task page can follow a running task.
func (s *Server) taskLog(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	node, upid := r.PathValue("node"), r.PathValue("upid")
	start, err := strconv.Atoi(r.URL.Query().Get("start"))
	if !nodeNamePattern.MatchString(node) || !strings.HasPrefix(upid, "UPID:") || len(upid) > 512 || err != nil || start < 0 {
		return s.jsonFailure(w, r, lxc.Errorf(lxc.EInvalid, "That is not a valid task log request."))
	}
	id := s.identity(sess)
	// Status first: a task that ended before the read has all its lines in it.
	t, err := s.cfg.PVE.Task(r.Context(), id, node, upid)
	if err != nil {
		return s.jsonFailure(w, r, err)
	}
	lines, err := s.cfg.PVE.TaskLog(r.Context(), id, node, upid, start, taskLogMax)
	if err != nil {
		return s.jsonFailure(w, r, err)
	}
	if lines == nil || (t.Running && start == 0 && len(lines) == 1 && lines[0] == pveEmptyLog) {
		lines = []string{} // nothing logged yet: keep reading from 0
	}
	next := start + len(lines)
	writeJSON(w, http.StatusOK, taskLogChunk{Lines: lines, Next: next, Running: t.Running || len(lines) == taskLogMax})
	return nil
}

// actionOfTask maps PVE's task types to actions.
func actionOfTask(taskType string) (lxc.Action, bool) {
	switch taskType {
	case "vzstart", "hastart":
		return lxc.ActionStart, true
	case "vzshutdown":
		return lxc.ActionShutdown, true
	case "vzstop", "hastop":
		return lxc.ActionStop, true
	case "vzreboot":
		return lxc.ActionReboot, true
	}
	return "", false
}

// pastTense is the finished form of an action ("started").
func pastTense(a lxc.Action) string {
	switch a {
	case lxc.ActionStart:
		return "started"
	case lxc.ActionShutdown:
		return "shut down"
	case lxc.ActionStop:
		return "stopped"
	case lxc.ActionReboot:
		return "rebooted"
	}
	return "done"
}

// task shows a task's progress (GET /tasks/{node}/{upid}): a page that
// refreshes itself while the task runs, or JSON for the page's script.
func (s *Server) task(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	node, upid := r.PathValue("node"), r.PathValue("upid")
	if !nodeNamePattern.MatchString(node) || !strings.HasPrefix(upid, "UPID:") || len(upid) > 512 {
		return lxc.Errorf(lxc.EInvalid, "That is not a valid task.")
	}
	t, err := s.cfg.PVE.Task(r.Context(), s.identity(sess), node, upid)
	if err != nil {
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			return s.actionFailed(w, r, sess, target{Node: node}, "", err)
		}
		if wantsJSON(r) {
			status, msg := userError(err)
			writeJSON(w, status, jsonError{Error: msg})
			return nil
		}
		return err
	}
	vmid, _ := strconv.Atoi(t.ID)
	p := taskPage{Running: t.Running, OK: t.Succeeded(), ExitStatus: t.ExitStatus, VMID: vmid, Node: node}
	action, known := actionOfTask(t.Type)
	label := containerLabel(vmid)
	switch {
	case t.Running:
		p.Message = taskVerbing(action) + " " + label + "…"
	case p.OK:
		p.Message = label + " " + pastTense(action) + "."
	default:
		verb := "finish the task for"
		if known {
			verb = action.Verb()
		}
		// The exit status is PVE's account of what failed (e.g. "CT is
		// locked (backup)"); it is shown as the reason, escaped.
		p.Message = fmt.Sprintf("Could not %s %s: %s", verb, label, t.ExitStatus)
		p.OfferForceStop = action == lxc.ActionShutdown
	}
	if words, ok := describeTask(t); ok {
		p.Title, p.Message = words.title, words.message(t)
	}
	s.describeTaskPage(r.Context(), s.identity(sess), t, &p)
	p.Back = taskBack(r.URL.Query().Get("back"))
	if next := taskNext(r.URL.Query().Get("next")); next != "" && !t.Running && p.OK {
		if !wantsJSON(r) {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return nil
		}
		p.Next = next
	}
	if !t.Running && vmid > 0 {
		if cur, err := s.cfg.PVE.ContainerStatus(r.Context(), s.identity(sess), node, vmid); err == nil {
			p.Status = cur.Status
			// Show the new state at once; /cluster/resources lags.
			s.live.SetStatus(sess.Username, vmid, cur.Status, 15*time.Second)
		}
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, p)
		return nil
	}
	// The log shows while the task runs too: the page's script appends new
	// lines as they come (taskLog); without script the page reloads.
	lines, err := s.cfg.PVE.TaskLog(r.Context(), s.identity(sess), node, upid, 0, taskLogMax)
	if err != nil {
		s.log.Warn("task log", "request_id", requestID(r.Context()), "err", err)
	}
	p.LogFrom = max(0, len(lines)-taskLogLines)
	p.Log = lines[p.LogFrom:]
	p.LogNext = len(lines)
	p.LogURL = "/tasks/" + url.PathEscape(node) + "/" + url.PathEscape(upid) + "/log"
	s.render(w, r, http.StatusOK, "task", p)
	return nil
}
