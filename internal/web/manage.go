package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Managing one container: convert it to a template and delete it (clone
// is in clone.go). Each is a page that asks first (it works without
// script) and a POST that checks the confirmation before PVE is asked.

// manageView is what the clone, convert and delete pages know of the
// container.
type manageView struct {
	Target   target
	CT       lxc.Container
	Config   lxc.Config
	Perms    lxc.Permissions
	Can      struct{ Allocate, Clone, Power bool }
	Disks    []diskLine
	Kind     string // "clone", "template", "delete"
	Error    string
	Confirm  inputField // the typed name, on the delete page
	Purge    inputField
	Unref    inputField
	Force    inputField
	Clone    cloneForm
	Sections []inputField // the clone form's fields
}

// diskLine is one volume the container's configuration names.
type diskLine struct {
	Key, Volume, Size, Mount string
}

// Title names the container: "CT 101 web-01".
func (v manageView) Title() string {
	if name := v.Config.Get("hostname"); name != "" {
		return containerLabel(v.Target.VMID) + " " + name
	}
	return containerLabel(v.Target.VMID)
}

// ConfirmWord is what the person types to delete: the name, or the VMID
// of a container without one.
func (v manageView) ConfirmWord() string {
	if name := v.Config.Get("hostname"); name != "" {
		return name
	}
	return strconv.Itoa(v.Target.VMID)
}

// Protected reports the container's protection flag.
func (v manageView) Protected() bool { return v.Config.Bool("protection", false) }

// BaseURL is the container page.
func (v manageView) BaseURL() string { return ctURL(v.Target.Node, v.Target.VMID) }

// loadManage reads the container, its configuration and the person's
// privileges on it.
func (s *Server) loadManage(ctx context.Context, sess session.Session, t target) (manageView, error) {
	id := s.identity(sess)
	v := manageView{Target: t}
	var serr, cerr, perr error
	var wg sync.WaitGroup
	wg.Go(func() { v.CT, serr = s.cfg.PVE.ContainerStatus(ctx, id, t.Node, t.VMID) })
	wg.Go(func() { v.Config, cerr = s.cfg.PVE.ContainerConfig(ctx, id, t.Node, t.VMID, true) })
	wg.Go(func() { v.Perms, perr = s.cfg.PVE.Permissions(ctx, id, lxc.VMPath(t.VMID)) })
	wg.Wait()
	if serr != nil {
		return v, s.classifyMissing(ctx, sess, t, serr)
	}
	for _, err := range []error{cerr, perr} {
		if err != nil {
			return v, err
		}
	}
	v.CT.Node = t.Node
	s.mergeOverview(sess, &v.CT)
	has := func(priv string) bool { return v.Perms.CanOnContainer(t.VMID, v.CT.Pool, priv) }
	v.Can.Allocate, v.Can.Clone, v.Can.Power = has(privAllocate), has(privClone), has(privPower)
	for _, k := range volumeKeys(v.Config) {
		ps := lxc.ParsePropertyString(v.Config.Get(k))
		vol := ps.Default
		if vol == "" {
			vol = ps.Get("volume")
		}
		if strings.HasPrefix(k, "unused") {
			vol = v.Config.Get(k)
		}
		mount := ps.Get("mp")
		if k == "rootfs" {
			mount = "/"
		}
		v.Disks = append(v.Disks, diskLine{Key: k, Volume: vol, Size: ps.Get("size"), Mount: mount})
	}
	return v, nil
}

// volumeKeys are rootfs, the mount points and the unused volumes, in order.
func volumeKeys(cfg lxc.Config) []string {
	keys := []string{}
	if cfg.Has("rootfs") {
		keys = append(keys, "rootfs")
	}
	for _, prefix := range []string{"mp", "unused"} {
		for i := 0; i < 256; i++ {
			if k := prefix + strconv.Itoa(i); cfg.Has(k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// manageTarget reads the target and the container, answering a failure.
func (s *Server) manageTarget(w http.ResponseWriter, r *http.Request) (manageView, session.Session, bool, error) {
	sess, _ := currentSession(r.Context())
	t, err := parseTarget(r)
	if err != nil {
		return manageView{}, sess, false, err
	}
	v, err := s.loadManage(r.Context(), sess, t)
	if err != nil {
		return v, sess, false, s.containerFailed(w, r, sess, t, err)
	}
	return v, sess, true, nil
}

// templatePage asks before converting (GET .../template).
func (s *Server) templatePage(w http.ResponseWriter, r *http.Request) error {
	v, _, ok, err := s.manageTarget(w, r)
	if !ok {
		return err
	}
	if !v.Can.Allocate {
		return s.renderError(w, r, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("You may not convert %s to a template (needs %s).", containerLabel(v.Target.VMID), privAllocate))
	}
	v.Kind = "template"
	s.render(w, r, http.StatusOK, "manage", v)
	return nil
}

// convertTemplate converts a confirmed container (POST .../template).
func (s *Server) convertTemplate(w http.ResponseWriter, r *http.Request) error {
	v, sess, ok, err := s.manageTarget(w, r)
	if !ok {
		return err
	}
	t := v.Target
	v.Kind = "template"
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "1" {
		v.Error = "Confirm the conversion with the button below."
		s.render(w, r, http.StatusBadRequest, "manage", v)
		return nil
	}
	if err := s.cfg.PVE.ConvertToTemplate(r.Context(), s.identity(sess), t.Node, t.VMID); err != nil {
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			return s.provisionFailed(w, r, sess, err)
		}
		status, msg := s.manageRefused(r.Context(), sess, t, "convert", err)
		s.log.Warn("audit: convert to template", "user", sess.Username, "vmid", t.VMID, "node", t.Node, "outcome", "refused",
			"request_id", requestID(r.Context()), "err", err)
		v.Error = msg
		s.render(w, r, status, "manage", v)
		return nil
	}
	s.log.Info("audit: convert to template", "user", sess.Username, "client", clientAddr(r), "vmid", t.VMID, "node", t.Node,
		"outcome", "started", "request_id", requestID(r.Context()))
	s.setFlash(w, sess, t, fmt.Sprintf("%s is being converted to a template: Proxmox VE renames its disks in a task of its own.",
		containerLabel(t.VMID)))
	http.Redirect(w, r, ctURL(t.Node, t.VMID), http.StatusSeeOther)
	return nil
}

// manageRefused explains PVE's refusal of a convert, delete or clone from
// the container's state now, never from PVE's text.
func (s *Server) manageRefused(ctx context.Context, sess session.Session, t target, verb string, err error) (int, string) {
	label := containerLabel(t.VMID)
	switch lxc.ErrorCode(err) {
	case lxc.EForbidden:
		return http.StatusForbidden, fmt.Sprintf("You may not %s %s.", verb, label)
	case lxc.ENodeOffline:
		return http.StatusBadGateway, fmt.Sprintf("Node %s is offline.", t.Node)
	case lxc.ERefused:
		v, lerr := s.loadManage(ctx, sess, t)
		switch {
		case lerr != nil:
		case v.CT.Lock != "":
			return http.StatusConflict, fmt.Sprintf("%s is locked (%s): another job works on it.", label, v.CT.Lock)
		case verb == "delete" && v.Protected():
			return http.StatusConflict, fmt.Sprintf("%s is protected: turn protection off in its options first.", label)
		case verb == "convert" && v.CT.Template:
			return http.StatusConflict, label + " is already a template."
		case v.CT.Running() && verb != "clone":
			return http.StatusConflict, fmt.Sprintf("%s is running: stop it first.", label)
		case verb == "convert" && v.Config.Has("parent"):
			return http.StatusConflict, fmt.Sprintf("%s has snapshots; a container with snapshots cannot become a template.", label)
		}
		return http.StatusConflict, fmt.Sprintf("Proxmox VE refused to %s %s.", verb, label)
	}
	return userError(err)
}
