package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Snapshot forms of the container page. Taking, rolling back and deleting
// start PVE tasks: the browser goes to the task page, which follows the
// log and links back to the snapshots. Rollback and delete ask first, on a
// page that names what will be lost; the description is changed at once.

// snapshotPathName is an existing snapshot's name in a URL: PVE's
// pve-configid, at most 40 characters.
var snapshotPathName = regexp.MustCompile(`^(?i)[a-z][a-z0-9_-]{1,39}$`)

// maxSnapshotDescription bounds a snapshot description (PVE sets no limit;
// a container's notes may have 8 KiB).
const maxSnapshotDescription = 8192

// snapshotsAnchor is where the page's snapshots section starts.
const snapshotsAnchor = "#snapshots"

// taskURLBack is the task page of upid with a link back to the page back
// (?back=; a provisioning task's ?next= leads on by itself after success).
func taskURLBack(node, upid, back string) string {
	return "/tasks/" + url.PathEscape(node) + "/" + url.PathEscape(upid) + "?back=" + url.QueryEscape(back)
}

// readSnapshotForm parses a snapshot form and the target.
func readSnapshotForm(w http.ResponseWriter, r *http.Request) (target, error) {
	t, err := parseTarget(r)
	if err != nil {
		return t, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		return t, lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	return t, nil
}

// snapshotName reads the {name} path value of an existing snapshot.
func snapshotName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !snapshotPathName.MatchString(name) || name == "current" {
		return "", lxc.Errorf(lxc.EInvalid, "That is not a valid snapshot name.")
	}
	return name, nil
}

// takeSnapshot is POST /containers/{node}/{vmid}/snapshots: the name is
// checked as PVE would (and against the existing snapshots) before PVE is
// asked; a refused name is shown at its field.
func (s *Server) takeSnapshot(w http.ResponseWriter, r *http.Request) error {
	t, err := readSnapshotForm(w, r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	id := s.identity(sess)
	name := strings.TrimSpace(r.PostForm.Get("snapname"))
	desc := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("description"), "\r\n", "\n"))
	var nameErr string
	var le *lxc.Error
	switch err := lxc.CheckSnapshotName(name); {
	case errors.As(err, &le):
		nameErr = le.Message
	case len(desc) > maxSnapshotDescription:
		nameErr = fmt.Sprintf("The description is too long (at most %d characters).", maxSnapshotDescription)
	default:
		if list, lerr := s.cfg.PVE.Snapshots(r.Context(), id, t.Node, t.VMID); lerr == nil {
			for _, sn := range list {
				if !sn.Current && sn.Name == name {
					nameErr = fmt.Sprintf("A snapshot named “%s” already exists; choose another name.", sn.Name)
				}
			}
		}
	}
	if nameErr != "" {
		return s.renderSnapshotForm(w, r, sess, t, func(v *snapshotsView) {
			v.Name, v.Description, v.NameError = name, desc, nameErr
		})
	}
	upid, err := s.cfg.PVE.TakeSnapshot(r.Context(), id, t.Node, t.VMID, name, desc)
	if err != nil {
		return s.snapshotFailed(w, r, sess, t, "take snapshots of", privSnapshot, err)
	}
	s.auditSnapshot(r, sess, t, "take", name)
	http.Redirect(w, r, taskURLBack(t.Node, upid, containerPath(t)+snapshotsAnchor), http.StatusSeeOther)
	return nil
}

// renderSnapshotForm shows the container page again with the snapshots
// section changed by edit (a refused form), status 400.
func (s *Server) renderSnapshotForm(w http.ResponseWriter, r *http.Request, sess session.Session, t target, edit func(*snapshotsView)) error {
	v, err := s.loadContainer(r.Context(), sess, t)
	if err != nil {
		return s.containerFailed(w, r, sess, t, err)
	}
	v.Charts = chartQuery{Timeframe: "hour", CF: "AVERAGE"}
	v.Settings = settingsFromConfig(v.Config, v.Can)
	edit(&v.Snapshots)
	s.render(w, r, http.StatusBadRequest, "container", v)
	return nil
}

// describeSnapshot is POST .../snapshots/{name}/description (synchronous).
func (s *Server) describeSnapshot(w http.ResponseWriter, r *http.Request) error {
	t, err := readSnapshotForm(w, r)
	if err != nil {
		return err
	}
	name, err := snapshotName(r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	desc := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("description"), "\r\n", "\n"))
	refuse := func(msg string) error {
		return s.renderSnapshotForm(w, r, sess, t, func(v *snapshotsView) { v.Error = msg })
	}
	switch {
	case desc == "":
		// PVE reads an empty value as none and would change nothing.
		return refuse(fmt.Sprintf("Proxmox VE cannot remove a snapshot's description; enter new text for “%s”.", name))
	case len(desc) > maxSnapshotDescription:
		return refuse(fmt.Sprintf("The description is too long (at most %d characters).", maxSnapshotDescription))
	}
	err = s.cfg.PVE.SetSnapshotDescription(r.Context(), s.identity(sess), t.Node, t.VMID, name, desc)
	if lxc.ErrorCode(err) == lxc.ERefused {
		return refuse(s.snapshotRefusal(r.Context(), sess, t, name))
	}
	if err != nil {
		return s.snapshotFailed(w, r, sess, t, "change snapshots of", privSnapshot, err)
	}
	s.auditSnapshot(r, sess, t, "describe", name)
	s.setFlash(w, sess, t, fmt.Sprintf("Saved the description of snapshot “%s”.", name))
	http.Redirect(w, r, containerPath(t)+snapshotsAnchor, http.StatusSeeOther)
	return nil
}

// snapshotRefusal explains a synchronous refusal from the container's
// state: a lock, or a snapshot that is gone.
func (s *Server) snapshotRefusal(ctx context.Context, sess session.Session, t target, name string) string {
	id := s.identity(sess)
	if ct, err := s.cfg.PVE.ContainerStatus(ctx, id, t.Node, t.VMID); err == nil && ct.Lock != "" {
		return fmt.Sprintf("%s is locked (%s); try again when that has finished.", containerLabel(t.VMID), ct.Lock)
	}
	if list, err := s.cfg.PVE.Snapshots(ctx, id, t.Node, t.VMID); err == nil && findSnapshot(list, name) == nil {
		return fmt.Sprintf("Snapshot “%s” no longer exists.", name)
	}
	return "Proxmox VE refused the change."
}

func findSnapshot(list []lxc.Snapshot, name string) *lxc.Snapshot {
	for i := range list {
		if !list[i].Current && list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// snapConfirmPage asks before a rollback or a deletion.
type snapConfirmPage struct {
	Target  target
	Title   string // "CT 101 web-01"
	Op      string // "rollback" or "delete"
	Snap    snapNode
	Running bool
	Current bool            // the current state descends directly from the snapshot
	Changes []settingChange // settings the rollback puts back
	Back    string
}

// settingChange is a setting that differs between now and the snapshot.
type settingChange struct{ Key, Now, Then string }

// snapshotOp is POST .../snapshots/{name}/{rollback,delete}: without
// confirm=1 it shows what will happen; with it the task starts.
func (s *Server) snapshotOp(op string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := readSnapshotForm(w, r)
		if err != nil {
			return err
		}
		name, err := snapshotName(r)
		if err != nil {
			return err
		}
		sess, _ := currentSession(r.Context())
		id := s.identity(sess)
		back := containerPath(t) + snapshotsAnchor
		if r.PostForm.Get("confirm") != "1" {
			return s.confirmSnapshotOp(w, r, sess, t, op, name)
		}
		var upid string
		verb, need := "delete snapshots of", privSnapshot
		if op == "rollback" {
			verb, need = "roll back", privSnapshot+" or "+privRollback
			start := r.PostForm.Get("start") == "1"
			upid, err = s.cfg.PVE.RollbackSnapshot(r.Context(), id, t.Node, t.VMID, name, start)
		} else {
			upid, err = s.cfg.PVE.DeleteSnapshot(r.Context(), id, t.Node, t.VMID, name)
		}
		if err != nil {
			return s.snapshotFailed(w, r, sess, t, verb, need, err)
		}
		s.auditSnapshot(r, sess, t, op, name)
		http.Redirect(w, r, taskURLBack(t.Node, upid, back), http.StatusSeeOther)
		return nil
	}
}

// confirmSnapshotOp renders the question, naming what will be lost.
func (s *Server) confirmSnapshotOp(w http.ResponseWriter, r *http.Request, sess session.Session, t target, op, name string) error {
	id := s.identity(sess)
	var (
		ct           lxc.Container
		list         []lxc.Snapshot
		now, then    lxc.Config
		serr, lerr   error
		nerr, thnErr error
		wg           sync.WaitGroup
	)
	wg.Go(func() { ct, serr = s.cfg.PVE.ContainerStatus(r.Context(), id, t.Node, t.VMID) })
	wg.Go(func() { list, lerr = s.cfg.PVE.Snapshots(r.Context(), id, t.Node, t.VMID) })
	if op == "rollback" {
		wg.Go(func() { now, nerr = s.cfg.PVE.ContainerConfig(r.Context(), id, t.Node, t.VMID, false) })
		wg.Go(func() { then, thnErr = s.cfg.PVE.SnapshotConfig(r.Context(), id, t.Node, t.VMID, name) })
	}
	wg.Wait()
	for _, err := range []error{serr, lerr} {
		if err != nil {
			return s.containerFailed(w, r, sess, t, err)
		}
	}
	snap := findSnapshot(list, name)
	if snap == nil {
		return s.renderError(w, r, http.StatusNotFound, "Not Found", fmt.Sprintf("%s has no snapshot “%s”.", containerLabel(t.VMID), name))
	}
	p := snapConfirmPage{Target: t, Title: containerLabel(t.VMID), Op: op, Snap: newSnapNode(*snap, s.cfg.Now()),
		Running: ct.Running(), Back: containerPath(t) + snapshotsAnchor}
	if ct.Name != "" {
		p.Title += " " + ct.Name
	}
	for _, sn := range list {
		p.Current = p.Current || (sn.Current && sn.Parent == name)
	}
	if nerr == nil && thnErr == nil {
		p.Changes = settingChanges(now, then)
	}
	s.render(w, r, http.StatusOK, "snapconfirm", p)
	return nil
}

// snapshotOnlyKeys are keys of a snapshot (or bookkeeping) that are no
// container settings a rollback puts back.
var snapshotOnlyKeys = regexp.MustCompile(`^(digest|snaptime|snapstate|parent|description|lock|vmstate|unused\d+)$`)

// settingChanges lists the settings that differ between now and then.
func settingChanges(now, then lxc.Config) []settingChange {
	keys := map[string]bool{}
	for k := range now.Values {
		keys[k] = true
	}
	for k := range then.Values {
		keys[k] = true
	}
	var out []settingChange
	for k := range keys {
		if snapshotOnlyKeys.MatchString(k) || now.Get(k) == then.Get(k) {
			continue
		}
		out = append(out, settingChange{Key: k, Now: valueOrNone(now.Get(k)), Then: valueOrNone(then.Get(k))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func valueOrNone(v string) string {
	if v == "" {
		return "(not set)"
	}
	return v
}

// snapshotFailed answers a snapshot call PVE refused, in words.
// need names the privileges PVE asks for, for the 403 message.
func (s *Server) snapshotFailed(w http.ResponseWriter, r *http.Request, sess session.Session, t target, verb, need string, err error) error {
	s.log.Warn("audit: snapshot", "request_id", requestID(r.Context()), "user", sess.Username, "node", t.Node,
		"vmid", t.VMID, "outcome", "refused", "err", err)
	label := containerLabel(t.VMID)
	switch lxc.ErrorCode(err) {
	case lxc.EUnauthorized:
		s.endSession(r.Context(), sess)
		s.toLogin(w, r, "expired")
		return nil
	case lxc.EForbidden:
		return s.renderError(w, r, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("You don't have permission to %s %s (needs %s).", verb, label, need))
	case lxc.ENodeOffline:
		return s.renderError(w, r, http.StatusBadGateway, "Node offline",
			fmt.Sprintf("Node %s is offline, so %s cannot be reached right now.", t.Node, label))
	case lxc.ERefused, lxc.EInvalid:
		return s.renderError(w, r, http.StatusConflict, "Not done", fmt.Sprintf("Proxmox VE refused to %s %s.", verb, label))
	}
	return err
}

func (s *Server) auditSnapshot(r *http.Request, sess session.Session, t target, op, name string) {
	s.log.Info("audit: snapshot", "request_id", requestID(r.Context()), "user", sess.Username, "client", clientAddr(r),
		"node", t.Node, "vmid", t.VMID, "op", op, "snapshot", name, "outcome", "started")
}
