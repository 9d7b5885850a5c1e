package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Cloning a container (GET and POST .../clone): a new VMID and host name,
// a linked copy (templates only) or a full one, another node when every
// disk is on shared storage, a target storage for a full copy, a pool.

// cloneForm is the clone page's values and errors.
type cloneForm struct {
	Values url.Values
	Errors map[string]string
}

func (f cloneForm) fail(k, msg string) {
	if _, ok := f.Errors[k]; !ok {
		f.Errors[k] = msg
	}
}

// cloneChoices is what PVE lets this clone use.
type cloneChoices struct {
	pp       provisionPerms
	nodes    []option // target nodes ("" is the source's)
	storages []option // full-copy storages ("" keeps the source's)
	shared   map[string]bool
	pools    []option
	poolIDs  map[string]bool
	nextID   int
}

// loadCloneChoices reads the storages, nodes and pools for v's clone.
func (s *Server) loadCloneChoices(ctx context.Context, sess session.Session, v manageView) (cloneChoices, error) {
	id := s.identity(sess)
	c := cloneChoices{shared: map[string]bool{}, poolIDs: map[string]bool{}}
	var err error
	if c.pp, err = s.provisionPermissions(ctx, id); err != nil {
		return c, err
	}
	all, err := s.cfg.PVE.Storages(ctx, id, v.Target.Node, "")
	if err != nil {
		return c, err
	}
	c.storages = []option{{Value: "", Label: "The same as the source's"}}
	for _, st := range all {
		c.shared[st.ID] = st.Shared
		if st.Holds("rootdir") && c.pp.space(st.ID) {
			label := st.ID
			if st.Shared {
				label += " (shared)"
			}
			c.storages = append(c.storages, option{Value: st.ID, Label: label})
		}
	}
	c.nodes = []option{{Value: "", Label: v.Target.Node + " (where it is)"}}
	if v.disksShared(c.shared) {
		nodes, err := s.cfg.PVE.Nodes(ctx, id)
		if err != nil {
			return c, err
		}
		for _, o := range nodeOptions(nodes)[1:] {
			if o.Value != v.Target.Node {
				c.nodes = append(c.nodes, o)
			}
		}
	}
	if c.pp.anywhere() {
		c.pools = append(c.pools, option{Value: "", Label: "None"})
		if pools, err := s.cfg.PVE.Pools(ctx, id); err == nil {
			for _, p := range pools {
				c.pools = append(c.pools, option{Value: p.ID, Label: p.ID})
			}
		}
	}
	for _, p := range c.pp.pools() {
		if !slices.ContainsFunc(c.pools, func(o option) bool { return o.Value == p }) {
			c.pools = append(c.pools, option{Value: p, Label: p})
		}
	}
	for _, o := range c.pools {
		c.poolIDs[o.Value] = true
	}
	c.nextID, _ = s.cfg.PVE.NextID(ctx, id)
	return c, nil
}

// disksShared reports whether every disk is on a shared storage (a copy
// may then go to another node).
func (v manageView) disksShared(shared map[string]bool) bool {
	for _, d := range v.Disks {
		if sid, _, ok := strings.Cut(d.Volume, ":"); ok && !shared[sid] && !strings.HasPrefix(d.Key, "unused") {
			return false
		}
	}
	return true
}

// cloneFields builds the clone form.
func (c cloneChoices) cloneFields(v manageView, f cloneForm) []inputField {
	in := func(name, label, typ string, opts ...string) inputField {
		return newInput("clone-"+name, label, typ, &field{Key: name, Value: f.Values.Get(name), Error: f.Errors[name]}, opts...)
	}
	sel := func(name, label string, options []option, hint string) inputField {
		i := in(name, label, "select")
		i.Options, i.Hint = options, hint
		return i
	}
	newid := in("newid", "New VMID", "number", "min=100", "max=999999999")
	if newid.Value == "" && c.nextID > 0 {
		newid.Value = strconv.Itoa(c.nextID)
	}
	host := in("hostname", "Host name", "text", "maxlength=255", "autocomplete=off")
	host.Hint = "Empty: the same as the source's."
	modes := []option{{Value: "full", Label: "Full copy"}}
	modeHint := "A container that is no template can only be copied in full."
	if v.CT.Template {
		modes = []option{{Value: "linked", Label: "Linked clone (shares the template's disks, fast)"}, {Value: "full", Label: "Full copy"}}
		modeHint = "A linked clone needs storage that supports it (LVM-thin here); its template must then stay."
	}
	nodeHint := "Its disks are on local storage, so the copy stays on this node."
	if len(c.nodes) > 1 {
		nodeHint = "Every disk is on shared storage, so the copy may live on another node."
	}
	fields := []inputField{newid, host, sel("mode", "Copy", modes, modeHint), sel("target", "Node", c.nodes, nodeHint),
		sel("storage", "Storage of a full copy", c.storages, "")}
	hint := ""
	if !c.pp.anywhere() {
		hint = "You may create containers only in these pools."
	}
	return append(fields, sel("pool", "Pool", c.pools, hint))
}

// clonePage shows the clone form (GET .../clone).
func (s *Server) clonePage(w http.ResponseWriter, r *http.Request) error {
	v, sess, ok, err := s.manageTarget(w, r)
	if !ok {
		return err
	}
	if !v.Can.Clone {
		return s.renderError(w, r, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("You may not clone %s (needs %s).", containerLabel(v.Target.VMID), privClone))
	}
	c, err := s.loadCloneChoices(r.Context(), sess, v)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	v.Kind, v.Clone = "clone", cloneForm{Values: url.Values{}, Errors: map[string]string{}}
	if v.CT.Template {
		v.Clone.Values.Set("mode", "linked")
	}
	v.Sections = c.cloneFields(v, v.Clone)
	s.render(w, r, http.StatusOK, "manage", v)
	return nil
}

// cloneContainer checks the form and asks PVE for the copy (POST
// .../clone); the task page then leads to the new container.
func (s *Server) cloneContainer(w http.ResponseWriter, r *http.Request) error {
	v, sess, ok, err := s.manageTarget(w, r)
	if !ok {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	c, err := s.loadCloneChoices(r.Context(), sess, v)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	f := cloneForm{Values: url.Values{}, Errors: map[string]string{}}
	for _, k := range []string{"newid", "hostname", "mode", "target", "storage", "pool"} {
		f.Values.Set(k, strings.TrimSpace(r.PostForm.Get(k)))
	}
	spec := c.check(v, f)
	if len(f.Errors) == 0 {
		if free, err := s.cfg.PVE.VMIDFree(r.Context(), s.identity(sess), spec.NewID); err == nil && !free {
			f.fail("newid", fmt.Sprintf("VMID %d is taken.", spec.NewID))
		}
	}
	v.Kind, v.Clone = "clone", f
	if len(f.Errors) > 0 {
		v.Sections = c.cloneFields(v, f)
		s.render(w, r, http.StatusBadRequest, "manage", v)
		return nil
	}
	t := v.Target
	upid, err := s.cfg.PVE.CloneContainer(r.Context(), s.identity(sess), t.Node, t.VMID, spec)
	if err != nil {
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			return s.provisionFailed(w, r, sess, err)
		}
		status, msg := s.manageRefused(r.Context(), sess, t, "clone", err)
		if lxc.ErrorCode(err) == lxc.EForbidden && spec.Pool == "" && !c.pp.anywhere() {
			msg = "You may create containers only in a pool: choose one."
		}
		v.Error = msg
		v.Sections = c.cloneFields(v, f)
		s.log.Warn("audit: clone container", "user", sess.Username, "vmid", t.VMID, "newid", spec.NewID, "outcome", "refused",
			"request_id", requestID(r.Context()), "err", err)
		s.render(w, r, status, "manage", v)
		return nil
	}
	s.log.Info("audit: clone container", "user", sess.Username, "client", clientAddr(r), "vmid", t.VMID, "node", t.Node,
		"newid", spec.NewID, "full", spec.Full, "outcome", "task started", "request_id", requestID(r.Context()))
	node := t.Node
	if spec.Target != "" {
		node = spec.Target
	}
	http.Redirect(w, r, taskURLWithNext(t.Node, upid, ctURL(node, spec.NewID)), http.StatusSeeOther)
	return nil
}

// check validates the clone form against what PVE would allow.
func (c cloneChoices) check(v manageView, f cloneForm) lxc.CloneSpec {
	spec := lxc.CloneSpec{Hostname: f.Values.Get("hostname"), Target: f.Values.Get("target"),
		Storage: f.Values.Get("storage"), Pool: f.Values.Get("pool")}
	n, err := strconv.Atoi(f.Values.Get("newid"))
	if err != nil || n < 100 || n > 999999999 {
		f.fail("newid", "The VMID must be a whole number from 100 to 999999999.")
	}
	spec.NewID = n
	if spec.Hostname != "" && !validDNSName(spec.Hostname) {
		f.fail("hostname", "The host name must be a DNS name: letters, digits and hyphens, labels separated by dots.")
	}
	switch mode := f.Values.Get("mode"); {
	case mode == "full":
		spec.Full = true
		if v.CT.Running() {
			f.fail("mode", fmt.Sprintf("%s is running: stop it before a full copy (Proxmox VE copies a running container only from a snapshot).",
				containerLabel(v.Target.VMID)))
		}
	case mode == "linked" && v.CT.Template:
		if spec.Storage != "" {
			f.fail("storage", "A linked clone stays on its template's storage.")
		}
	default:
		f.fail("mode", "Choose how to copy.")
	}
	if !slices.ContainsFunc(c.nodes, func(o option) bool { return o.Value == spec.Target }) {
		f.fail("target", "Choose one of the nodes offered.")
	}
	if !slices.ContainsFunc(c.storages, func(o option) bool { return o.Value == spec.Storage }) {
		f.fail("storage", "Choose one of the storages offered.")
	} else if spec.Target != "" && spec.Storage != "" && !c.shared[spec.Storage] {
		f.fail("storage", "A copy for another node needs shared storage.")
	}
	if !c.poolIDs[spec.Pool] {
		f.fail("pool", "Choose one of the pools you may create containers in.")
	}
	return spec
}
