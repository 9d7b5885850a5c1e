package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/jobs"
	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Bulk actions on the list: POST /containers/bulk with action and repeated
// ct=NODE/VMID (or all=1 with the list's filters), GET
// /containers/bulk/{id} for the progress (a page that refreshes itself
// without script, JSON for the list's script).

// bulkRequest is a validated bulk action.
type bulkRequest struct {
	Action  lxc.Action
	Items   []jobs.Item
	Confirm bool
	Query   listQuery // the list's view, for "all matching" and the way back
	Raw     []string  // the ct values, for the confirmation page
	All     bool
}

// parseBulk reads and checks the form against the person's view of the
// cluster: every named container must be one they see; those they may not
// power-manage, and templates, are marked and never sent to PVE.
func parseBulk(form url.Values, snap live.Snapshot) (bulkRequest, error) {
	req := bulkRequest{Confirm: form.Get("confirm") == "1", Query: parseListQuery(form), All: form.Get("all") == "1"}
	action, ok := lxc.ParseAction(form.Get("action"))
	if !ok {
		return req, lxc.Errorf(lxc.EInvalid, "Choose Start, Shutdown, Reboot or Stop.")
	}
	req.Action = action
	byID := make(map[int]lxc.Container, len(snap.Containers))
	for _, c := range snap.Containers {
		byID[c.VMID] = c
	}
	var picked []lxc.Container
	seen := map[int]bool{}
	if req.All {
		for _, c := range req.Query.apply(snap.Containers) {
			if !c.Template && snap.Perms.CanOnContainer(c.VMID, c.Pool, privPower) {
				picked = append(picked, c)
			}
		}
	} else {
		if len(form["ct"]) > bulkMaxItems {
			return req, lxc.Errorf(lxc.EInvalid, fmt.Sprintf("A bulk action takes at most %d containers.", bulkMaxItems))
		}
		for _, v := range form["ct"] {
			node, id, _ := strings.Cut(v, "/")
			vmid, err := strconv.Atoi(id)
			if !nodeNamePattern.MatchString(node) || err != nil || vmid < 100 || vmid > 999999999 {
				return req, lxc.Errorf(lxc.EInvalid, "The selection names a container that does not exist.")
			}
			if seen[vmid] {
				continue
			}
			seen[vmid] = true
			req.Raw = append(req.Raw, v)
			c, ok := byID[vmid]
			if !ok {
				req.Items = append(req.Items, jobs.Item{Node: node, VMID: vmid, State: jobs.StateFailed,
					Message: containerLabel(vmid) + " was not found."})
				continue
			}
			picked = append(picked, c)
		}
	}
	for _, c := range picked {
		it := jobs.Item{Node: c.Node, VMID: c.VMID, Name: c.Name, State: jobs.StateQueued}
		switch {
		case c.Template:
			it.State, it.Message = jobs.StateSkipped, containerLabel(c.VMID)+" is a template."
		case !snap.Perms.CanOnContainer(c.VMID, c.Pool, privPower):
			it.State = jobs.StateFailed
			it.Message = fmt.Sprintf("You may not %s %s (needs %s).", action.Verb(), containerLabel(c.VMID), privPower)
		}
		req.Items = append(req.Items, it)
	}
	if len(req.Items) == 0 {
		return req, lxc.Errorf(lxc.EInvalid, "Select at least one container.")
	}
	if len(req.Items) > bulkMaxItems {
		return req, lxc.Errorf(lxc.EInvalid, fmt.Sprintf("A bulk action takes at most %d containers.", bulkMaxItems))
	}
	return req, nil
}

// bulkConfirmPage asks before a bulk stop (without script).
type bulkConfirmPage struct {
	Req   bulkRequest
	Names []string
}

// bulkAction starts a bulk action (POST /containers/bulk).
func (s *Server) bulkAction(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return s.bulkFailed(w, r, lxc.Errorf(lxc.EInvalid, "The form could not be read."))
	}
	snap := s.overview(r.Context(), sess)
	if snap.Err != nil {
		if lxc.ErrorCode(snap.Err) == lxc.EUnauthorized {
			return s.actionFailed(w, r, sess, target{}, "", snap.Err)
		}
		return s.bulkFailed(w, r, snap.Err)
	}
	req, err := parseBulk(r.PostForm, snap)
	if err != nil {
		return s.bulkFailed(w, r, err)
	}
	if req.Action == lxc.ActionStop && !req.Confirm {
		if wantsJSON(r) {
			return s.bulkFailed(w, r, lxc.Errorf(lxc.EInvalid, "Please confirm the stop."))
		}
		p := bulkConfirmPage{Req: req}
		for _, it := range req.Items {
			p.Names = append(p.Names, itemLabel(it))
		}
		s.render(w, r, http.StatusOK, "bulk", bulkPage{Confirm: &p})
		return nil
	}
	id, err := session.NewID()
	if err != nil {
		return err
	}
	job := jobs.Job{ID: id[:24], User: sess.Username, Action: string(req.Action), Created: s.cfg.Now(), Items: req.Items}
	if err := s.bulk.store.Create(r.Context(), job, bulkKeep); err != nil {
		s.log.Error("bulk action: job not stored", "request_id", requestID(r.Context()), "err", err)
		return s.bulkFailed(w, r, fmt.Errorf("%w: %w", session.ErrUnavailable, err))
	}
	opts := lxc.ActionOptions{}
	if req.Action == lxc.ActionShutdown {
		opts.Timeout = 60 * time.Second
	}
	s.bulk.start(s.identity(sess), job, opts)
	s.log.Info("audit: bulk action", "user", sess.Username, "client", clientAddr(r), "action", string(req.Action),
		"containers", len(req.Items), "job", job.ID, "request_id", requestID(r.Context()))
	u := "/bulk/" + job.ID
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, map[string]string{"job": job.ID, "url": u})
		return nil
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
	return nil
}

// bulkFailed answers a bulk request that was not started.
func (s *Server) bulkFailed(w http.ResponseWriter, r *http.Request, err error) error {
	status, msg := userError(err)
	s.log.Warn("bulk action refused", "request_id", requestID(r.Context()), "status", status, "err", err)
	if wantsJSON(r) {
		writeJSON(w, status, jsonError{Error: msg})
		return nil
	}
	s.render(w, r, status, "error", errorPage{Title: "Bulk action not started", Message: msg, RequestID: requestID(r.Context())})
	return nil
}

// bulkStatus shows a bulk action's progress (GET /bulk/{id}).
func (s *Server) bulkStatus(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	job, err := s.bulk.store.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, jobs.ErrNotFound) || (err == nil && job.User != sess.Username) {
		const msg = "This bulk action is not known (they are kept for an hour)."
		if wantsJSON(r) {
			writeJSON(w, http.StatusNotFound, jsonError{Error: msg})
			return nil
		}
		return s.renderError(w, r, http.StatusNotFound, "Not Found", msg)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", session.ErrUnavailable, err)
	}
	v := newBulkView(job)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	s.render(w, r, http.StatusOK, "bulk", bulkPage{View: &v})
	return nil
}

// bulkPage is the bulk template's data: a confirmation or a progress view.
type bulkPage struct {
	Confirm *bulkConfirmPage
	View    *bulkView
}
