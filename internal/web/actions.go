package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// nodeNamePattern is PVE's pve-node format.
var nodeNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// maxShutdownTimeout bounds the shutdown timeout a person may ask for.
const maxShutdownTimeout = 3600

// target is the container an action or task page is about.
type target struct {
	Node string
	VMID int
}

func parseTarget(r *http.Request) (target, error) {
	node := r.PathValue("node")
	if !nodeNamePattern.MatchString(node) {
		return target{}, lxc.Errorf(lxc.EInvalid, "That is not a valid node name.")
	}
	vmid, err := strconv.Atoi(r.PathValue("vmid"))
	if err != nil || vmid < 100 || vmid > 999999999 {
		return target{}, lxc.Errorf(lxc.EInvalid, "That is not a valid container ID (100 to 999999999).")
	}
	return target{Node: node, VMID: vmid}, nil
}

// confirmPage asks before a hard stop, and for a shutdown's timeout, when
// the browser runs no script (with script the page asks itself).
type confirmPage struct {
	Target  target
	Action  lxc.Action
	Timeout int
	Force   bool
}

// actionResult is the JSON answer to a started action.
type actionResult struct {
	UPID    string `json:"upid"`
	Node    string `json:"node"`
	VMID    int    `json:"vmid"`
	Action  string `json:"action"`
	TaskURL string `json:"taskUrl"`
	Message string `json:"message"`
}

// jsonError is the JSON answer to a failed request.
type jsonError struct {
	Error    string `json:"error"`
	Redirect string `json:"redirect,omitempty"`
}

func wantsJSON(r *http.Request) bool {
	return containsToken(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// act starts a lifecycle action (POST /containers/{node}/{vmid}/{action})
// with the person's ticket and CSRF token. PVE answers with a task id at
// once; the page follows the task. The call is never retried.
func (s *Server) act(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	t, err := parseTarget(r)
	if err != nil {
		return s.actionFailed(w, r, sess, t, "", err)
	}
	action, ok := lxc.ParseAction(r.PathValue("action"))
	if !ok {
		return s.actionFailed(w, r, sess, t, "", lxc.Errorf(lxc.EInvalid, "Unknown action."))
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return s.actionFailed(w, r, sess, t, action, lxc.Errorf(lxc.EInvalid, "The form could not be read."))
	}
	opts, err := parseActionOptions(action, r.PostForm)
	if err != nil {
		return s.actionFailed(w, r, sess, t, action, err)
	}
	confirmed := r.PostForm.Get("confirm") == "1"
	if (action == lxc.ActionStop || action == lxc.ActionShutdown) && !confirmed {
		if wantsJSON(r) {
			return s.actionFailed(w, r, sess, t, action, lxc.Errorf(lxc.EInvalid, "Please confirm this action."))
		}
		s.render(w, r, http.StatusOK, "confirm", confirmPage{Target: t, Action: action, Timeout: int(opts.Timeout / time.Second), Force: opts.Force})
		return nil
	}

	upid, err := s.cfg.PVE.Act(r.Context(), s.identity(sess), t.Node, t.VMID, action, opts)
	if err != nil {
		return s.actionFailed(w, r, sess, t, action, err)
	}
	s.log.Info("audit: container action", "user", sess.Username, "client", clientAddr(r), "action", string(action),
		"vmid", t.VMID, "node", t.Node, "outcome", "task started", "request_id", requestID(r.Context()))
	taskURL := "/tasks/" + url.PathEscape(t.Node) + "/" + url.PathEscape(upid)
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, actionResult{
			UPID: upid, Node: t.Node, VMID: t.VMID, Action: string(action), TaskURL: taskURL,
			Message: taskVerbing(action) + " " + containerLabel(t.VMID) + "…",
		})
		return nil
	}
	http.Redirect(w, r, taskURL, http.StatusSeeOther)
	return nil
}

// parseActionOptions reads the shutdown timeout and force flag.
func parseActionOptions(action lxc.Action, form url.Values) (lxc.ActionOptions, error) {
	var opts lxc.ActionOptions
	if action != lxc.ActionShutdown {
		return opts, nil
	}
	opts.Timeout = 60 * time.Second
	if v := strings.TrimSpace(form.Get("timeout")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxShutdownTimeout {
			return opts, lxc.Errorf(lxc.EInvalid, fmt.Sprintf("The shutdown timeout must be a whole number of seconds from 0 to %d.", maxShutdownTimeout))
		}
		opts.Timeout = time.Duration(n) * time.Second
	}
	opts.Force = form.Get("force") == "1" || form.Get("force") == "on"
	return opts, nil
}

// actionFailed logs and answers a failed action with a curated message.
func (s *Server) actionFailed(w http.ResponseWriter, r *http.Request, sess session.Session, t target, action lxc.Action, err error) error {
	status, msg := s.actionError(r.Context(), sess, t, action, err)
	s.log.Warn("audit: container action", "user", sess.Username, "client", clientAddr(r), "action", string(action),
		"vmid", t.VMID, "node", t.Node, "outcome", "refused", "status", status, "request_id", requestID(r.Context()), "err", err)
	if lxc.ErrorCode(err) == lxc.EUnauthorized {
		s.endSession(r.Context(), sess)
		if wantsJSON(r) {
			s.clearCookie(w)
			writeJSON(w, http.StatusUnauthorized, jsonError{Error: msgSessionExpired, Redirect: "/login?reason=expired"})
			return nil
		}
		s.toLogin(w, r, "expired")
		return nil
	}
	if wantsJSON(r) {
		writeJSON(w, status, jsonError{Error: msg})
		return nil
	}
	s.render(w, r, status, "error", errorPage{Title: "Action not done", Message: msg, RequestID: requestID(r.Context())})
	return nil
}

// actionError turns an action's error into a status and a message that
// names the container and what went wrong. A refusal by PVE (HTTP 500) is
// explained from the container's current state, never from PVE's text.
func (s *Server) actionError(ctx context.Context, sess session.Session, t target, action lxc.Action, err error) (int, string) {
	label := containerLabel(t.VMID)
	switch lxc.ErrorCode(err) {
	case lxc.EForbidden:
		return http.StatusForbidden, fmt.Sprintf("You don't have permission to %s %s (needs %s).", action.Verb(), label, privPower)
	case lxc.ENodeOffline:
		return http.StatusBadGateway, fmt.Sprintf("Node %s is offline, so %s cannot be reached right now.", t.Node, label)
	case lxc.ERefused:
		cur, serr := s.cfg.PVE.ContainerStatus(ctx, s.identity(sess), t.Node, t.VMID)
		switch {
		case serr != nil && lxc.ErrorCode(serr) == lxc.ERefused:
			return http.StatusNotFound, fmt.Sprintf("%s does not exist on node %s.", label, t.Node)
		case serr != nil:
		case action == lxc.ActionStart && cur.Running():
			return http.StatusConflict, label + " is already running."
		case action != lxc.ActionStart && !cur.Running():
			return http.StatusConflict, label + " is not running."
		case cur.Lock != "":
			return http.StatusConflict, fmt.Sprintf("%s is locked (%s).", label, cur.Lock)
		}
		return http.StatusConflict, fmt.Sprintf("Proxmox VE refused to %s %s.", action.Verb(), label)
	case lxc.EInvalid:
		var le *lxc.Error
		if errors.As(err, &le) && le.Message != "" {
			return http.StatusBadRequest, le.Message
		}
		return http.StatusBadRequest, fmt.Sprintf("Proxmox VE rejected the request to %s %s.", action.Verb(), label)
	}
	return userError(err)
}

// taskVerbing is the running form of an action ("Starting").
func taskVerbing(a lxc.Action) string {
	switch a {
	case lxc.ActionStart:
		return "Starting"
	case lxc.ActionShutdown:
		return "Shutting down"
	case lxc.ActionStop:
		return "Stopping"
	case lxc.ActionReboot:
		return "Rebooting"
	}
	return "Working on"
}
