package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// New container: GET /containers/new (step one: node and template, with
// template downloads; ?step=2: the settings), POST /containers (create),
// POST /containers/new/download (fetch a template from the appliance
// index). Everything is checked before PVE is asked; PVE's refusals are
// explained from the person's permissions and the cluster's state.

const msgNoCreate = "You may not create containers: that needs the VM.Allocate privilege on /vms or on a pool."

// createPage shows a step of the new-container form.
func (s *Server) createPage(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	id := s.identity(sess)
	pp, err := s.provisionPermissions(r.Context(), id)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	if !pp.canCreate() {
		return s.renderError(w, r, http.StatusForbidden, "Forbidden", msgNoCreate)
	}
	f := newCreateForm(r.URL.Query(), true)
	if r.URL.Query().Get("step") == "2" {
		if f.Get("template") == "" {
			f.fail("template", "Choose a template first.")
		} else {
			return s.renderSettings(w, r, sess, f, pp, http.StatusOK)
		}
	}
	return s.renderStepOne(w, r, sess, f, pp, http.StatusOK)
}

// renderStepOne shows the node and template step.
func (s *Server) renderStepOne(w http.ResponseWriter, r *http.Request, sess session.Session, f createForm, pp provisionPerms, status int) error {
	ctx, id := r.Context(), s.identity(sess)
	nodes, err := s.cfg.PVE.Nodes(ctx, id)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	p := createPageData{Step: 1, Form: f, Node: f.Get("node")}
	opts := nodeOptions(nodes)
	if !slices.ContainsFunc(opts, func(o option) bool { return o.Value == p.Node }) {
		p.Node = ""
	}
	if p.Node == "" && len(opts) == 2 {
		p.Node = opts[1].Value // the one online node
	}
	p.NodeField = newInput("ct-node", "Node", "select", &field{Key: "node", Value: p.Node, Error: f.Errors["node"]})
	p.NodeField.Options = opts
	if p.Node != "" {
		vols, storages, err := s.nodeTemplates(ctx, id, p.Node)
		if err != nil {
			return s.provisionFailed(w, r, sess, err)
		}
		apl, err := s.cfg.PVE.Appliances(ctx, id, p.Node)
		if err != nil {
			s.log.Warn("new container: appliance index", "node", p.Node, "err", err)
		}
		for _, st := range storages {
			if pp.download(st.ID) {
				p.DLStorages = append(p.DLStorages, option{Value: st.ID, Label: st.ID})
			}
		}
		if len(p.DLStorages) > 0 {
			p.Appliances = applianceRows(apl, vols)
		}
		p.TmplField = newInput("ct-template", "Template", "select", &field{Key: "template", Value: f.Get("template"), Error: f.Errors["template"]})
		p.TmplField.Options = templateOptions(vols)
		p.NoTemplates = len(vols) == 0
	}
	s.render(w, r, status, "create", p)
	return nil
}

// renderSettings shows step two with f's values and errors.
func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, sess session.Session, f createForm, pp provisionPerms, status int) error {
	c, err := s.loadSettingsChoices(r.Context(), s.identity(sess), f.Get("node"), pp)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	if !c.Templates[f.Get("template")] {
		f.fail("template", "That template is not on this node: choose another.")
		return s.renderStepOne(w, r, sess, f, pp, max(status, http.StatusBadRequest))
	}
	p := createPageData{Step: 2, Form: f, Node: f.Get("node"), Template: templateName(f.Get("template")),
		Sections: c.sections(f), BackURL: f.backQuery(), Error: f.Errors[""]}
	s.render(w, r, status, "create", p)
	return nil
}

// createContainer checks the form and asks PVE to create the container
// (POST /containers); the person then follows the task, which leads to
// the new container's page.
func (s *Server) createContainer(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	id := s.identity(sess)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	pp, err := s.provisionPermissions(r.Context(), id)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	if !pp.canCreate() {
		return s.renderError(w, r, http.StatusForbidden, "Forbidden", msgNoCreate)
	}
	f := newCreateForm(r.PostForm, false)
	node := f.Get("node")
	if !nodeNamePattern.MatchString(node) {
		return lxc.Errorf(lxc.EInvalid, "That is not a valid node name.")
	}
	c, err := s.loadSettingsChoices(r.Context(), id, node, pp)
	if err != nil {
		return s.provisionFailed(w, r, sess, err)
	}
	spec := f.validate(c.createChoices)
	if len(f.Errors) == 0 {
		s.checkVMID(r.Context(), id, f, spec.VMID)
	}
	if len(f.Errors) > 0 {
		return s.renderSettings(w, r, sess, f, pp, http.StatusBadRequest)
	}
	upid, err := s.cfg.PVE.CreateContainer(r.Context(), id, node, spec)
	if err != nil {
		status := s.createRefused(r.Context(), id, f, spec, node, pp, err)
		if status == 0 {
			return s.provisionFailed(w, r, sess, err)
		}
		s.log.Warn("audit: create container", "user", sess.Username, "client", clientAddr(r), "vmid", spec.VMID,
			"node", node, "outcome", "refused", "request_id", requestID(r.Context()), "err", err)
		return s.renderSettings(w, r, sess, f, pp, status)
	}
	s.log.Info("audit: create container", "user", sess.Username, "client", clientAddr(r), "vmid", spec.VMID,
		"node", node, "template", spec.Template, "pool", spec.Pool, "outcome", "task started", "request_id", requestID(r.Context()))
	http.Redirect(w, r, taskURLWithNext(node, upid, ctURL(node, spec.VMID)), http.StatusSeeOther)
	return nil
}

// checkVMID asks PVE whether the VMID is free (a race with another create
// is still possible; PVE then refuses).
func (s *Server) checkVMID(ctx context.Context, id lxc.Identity, f createForm, vmid int) {
	free, err := s.cfg.PVE.VMIDFree(ctx, id, vmid)
	if err != nil || free {
		return
	}
	msg := fmt.Sprintf("VMID %d is taken.", vmid)
	if next, err := s.cfg.PVE.NextID(ctx, id); err == nil {
		msg += fmt.Sprintf(" %d is free.", next)
	}
	f.fail("vmid", msg)
}

// invalidParams is implemented by PVE client errors of a 400 answer.
type invalidParams interface{ InvalidParams() []string }

// createFieldOf is the form field of a PVE create parameter.
var createFieldOf = map[string]string{"vmid": "vmid", "hostname": "hostname", "password": "password",
	"ssh-public-keys": "sshkeys", "cores": "cores", "memory": "memory", "swap": "swap", "rootfs": "disk",
	"storage": "storage", "net0": "bridge", "nameserver": "nameserver", "searchdomain": "searchdomain",
	"pool": "pool", "tags": "tags", "ostemplate": "template"}

// createRefused explains PVE's refusal in f (by field where it can) and
// returns the status; 0 leaves the error to provisionFailed.
func (s *Server) createRefused(ctx context.Context, id lxc.Identity, f createForm, spec lxc.CreateSpec, node string, pp provisionPerms, err error) int {
	var ip invalidParams
	switch lxc.ErrorCode(err) {
	case lxc.EInvalid:
		if errors.As(err, &ip) {
			for _, p := range ip.InvalidParams() {
				k := createFieldOf[p]
				if k == "storage" {
					f.fail(k, "Proxmox VE does not keep container disks on this storage.")
					continue
				}
				f.fail(k, "Proxmox VE did not accept this value.")
			}
		}
		if len(f.Errors) == 0 {
			f.fail("", "Proxmox VE did not accept the settings.")
		}
		return http.StatusBadRequest
	case lxc.EForbidden:
		switch {
		case spec.Pool == "" && !pp.anywhere():
			f.fail("pool", "You may create containers only in a pool you administer: choose one.")
		case spec.Pool != "" && !slices.Contains(pp.pools(), spec.Pool) && !pp.anywhere():
			f.fail("pool", fmt.Sprintf("You may not create containers in pool %s.", spec.Pool))
		case !pp.space(spec.RootStorage):
			f.fail("storage", fmt.Sprintf("You may not allocate space on %s.", spec.RootStorage))
		case !spec.Unprivileged && !pp.privileged():
			f.fail("unprivileged", "Privileged containers need Sys.Modify on /.")
		case len(spec.Tags) > 0 && !pp.tags():
			f.fail("tags", "Your permissions do not cover tags on a new container.")
		default:
			f.fail("", "Proxmox VE refused: your permissions lack a privilege this container needs (VM.Allocate, VM.Config.*, Datastore.AllocateSpace on the storage, SDN.Use on the bridge).")
		}
		return http.StatusForbidden
	case lxc.ERefused:
		if free, ferr := s.cfg.PVE.VMIDFree(ctx, id, spec.VMID); ferr == nil && !free {
			s.checkVMID(ctx, id, f, spec.VMID)
			return http.StatusConflict
		}
		f.fail("", "Proxmox VE refused to create the container. Check the settings and try again.")
		return http.StatusConflict
	case lxc.ENodeOffline:
		f.fail("", fmt.Sprintf("Node %s is offline.", node))
		return http.StatusBadGateway
	}
	return 0
}

// provisionFailed answers what stops the provisioning pages: an ended
// session goes to the sign-in page, the rest is an error page.
func (s *Server) provisionFailed(w http.ResponseWriter, r *http.Request, sess session.Session, err error) error {
	if lxc.ErrorCode(err) == lxc.EUnauthorized {
		s.endSession(r.Context(), sess)
		s.toLogin(w, r, "expired")
		return nil
	}
	return err
}

// downloadTemplate starts a template download from the appliance index
// (POST /containers/new/download) and follows it back to step one.
func (s *Server) downloadTemplate(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	id := s.identity(sess)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	node, storage, tmpl := r.PostForm.Get("node"), r.PostForm.Get("storage"), r.PostForm.Get("template")
	if !nodeNamePattern.MatchString(node) || !storageIDPattern.MatchString(storage) || tmpl == "" || len(tmpl) > 255 {
		return lxc.Errorf(lxc.EInvalid, "Choose a node, a storage and a template.")
	}
	upid, err := s.cfg.PVE.DownloadTemplate(r.Context(), id, node, storage, tmpl)
	if err != nil {
		switch lxc.ErrorCode(err) {
		case lxc.EForbidden:
			return s.renderError(w, r, http.StatusForbidden, "Forbidden",
				fmt.Sprintf("You may not download templates to %s (needs Datastore.AllocateTemplate).", storage))
		case lxc.EInvalid:
			return lxc.Errorf(lxc.EInvalid, "That template is not in the node's appliance index.")
		case lxc.ERefused:
			return s.renderError(w, r, http.StatusConflict, "Download not started",
				fmt.Sprintf("Proxmox VE cannot keep templates on %s.", storage))
		}
		return s.provisionFailed(w, r, sess, err)
	}
	s.log.Info("audit: download template", "user", sess.Username, "node", node, "storage", storage, "template", tmpl,
		"request_id", requestID(r.Context()))
	back := "/containers/new?" + url.Values{"node": {node}, "template": {storage + ":vztmpl/" + tmpl}}.Encode()
	http.Redirect(w, r, taskURLWithNext(node, upid, back), http.StatusSeeOther)
	return nil
}

// ctURL is a container's page.
func ctURL(node string, vmid int) string {
	return "/containers/" + url.PathEscape(node) + "/" + strconv.Itoa(vmid)
}

// taskURLWithNext is a task's page that leads to next once the task ended
// well.
func taskURLWithNext(node, upid, next string) string {
	return "/tasks/" + url.PathEscape(node) + "/" + url.PathEscape(upid) + "?" + url.Values{"next": {next}}.Encode()
}
