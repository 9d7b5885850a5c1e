package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Deleting a container (GET and POST .../delete): the page names what
// will be lost and asks the person to type the container's name (its VMID
// when it has none); a wrong or missing confirmation is refused with 400
// before PVE is asked. A running container is stopped first only when the
// person asks for it; a protected one cannot be deleted here.

// deleteFields fills the delete form's fields from the request.
func (v *manageView) deleteFields(confirm string, purge, unref, force bool, confirmErr string) {
	v.Kind = "delete"
	v.Confirm = newInput("confirm-name", fmt.Sprintf("Type %s to confirm", v.ConfirmWord()), "text",
		&field{Key: "confirm", Value: confirm, Error: confirmErr}, "autocomplete=off")
	v.Purge = newInput("purge", "Also remove it from backup and replication jobs and from HA", "checkbox",
		&field{Key: "purge", Value: boolText(purge)})
	v.Unref = newInput("destroy-unreferenced", "Also destroy disks of this VMID that its configuration does not name", "checkbox",
		&field{Key: "destroy-unreferenced-disks", Value: boolText(unref)})
	v.Force = newInput("force", fmt.Sprintf("Stop %s first (it is running)", containerLabel(v.Target.VMID)), "checkbox",
		&field{Key: "force", Value: boolText(force)})
}

// deletePage asks before deleting (GET .../delete).
func (s *Server) deletePage(w http.ResponseWriter, r *http.Request) error {
	v, _, ok, err := s.manageTarget(w, r)
	if !ok {
		return err
	}
	if !v.Can.Allocate {
		return s.renderError(w, r, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("You may not delete %s (needs %s).", containerLabel(v.Target.VMID), privAllocate))
	}
	v.deleteFields("", false, false, false, "")
	s.render(w, r, http.StatusOK, "manage", v)
	return nil
}

// deleteContainer deletes a confirmed container (POST .../delete) and
// follows the task back to the list.
func (s *Server) deleteContainer(w http.ResponseWriter, r *http.Request) error {
	v, sess, ok, err := s.manageTarget(w, r)
	if !ok {
		return err
	}
	t := v.Target
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	on := func(k string) bool { return r.PostForm.Get(k) == "1" || r.PostForm.Get(k) == "on" }
	typed := strings.TrimSpace(r.PostForm.Get("confirm"))
	opts := lxc.DestroyOptions{Purge: on("purge"), DestroyUnreferencedDisks: on("destroy-unreferenced-disks"), Force: on("force")}
	if typed != v.ConfirmWord() {
		msg := fmt.Sprintf("Type %s exactly to delete %s.", v.ConfirmWord(), containerLabel(t.VMID))
		if typed == "" {
			msg = fmt.Sprintf("Type %s to confirm: nothing was deleted.", v.ConfirmWord())
		}
		v.deleteFields(typed, opts.Purge, opts.DestroyUnreferencedDisks, opts.Force, msg)
		s.render(w, r, http.StatusBadRequest, "manage", v)
		return nil
	}
	upid, err := s.cfg.PVE.DestroyContainer(r.Context(), s.identity(sess), t.Node, t.VMID, opts)
	if err != nil {
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			return s.provisionFailed(w, r, sess, err)
		}
		status, msg := s.manageRefused(r.Context(), sess, t, "delete", err)
		s.log.Warn("audit: delete container", "user", sess.Username, "vmid", t.VMID, "node", t.Node, "outcome", "refused",
			"request_id", requestID(r.Context()), "err", err)
		v.deleteFields(typed, opts.Purge, opts.DestroyUnreferencedDisks, opts.Force, "")
		v.Error = msg
		s.render(w, r, status, "manage", v)
		return nil
	}
	s.log.Info("audit: delete container", "user", sess.Username, "client", clientAddr(r), "vmid", t.VMID, "node", t.Node,
		"purge", opts.Purge, "force", opts.Force, "outcome", "task started", "request_id", requestID(r.Context()))
	http.Redirect(w, r, taskURLWithNext(t.Node, upid, "/"), http.StatusSeeOther)
	return nil
}
