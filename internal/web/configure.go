package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Messages of the settings forms.
const (
	msgConflict  = "This container was changed by someone else; review the current values."
	msgNoChange  = "Nothing was changed."
	msgFixFields = "Some values need fixing; nothing was sent to Proxmox VE."
)

// configure changes a container's settings (POST
// /containers/{node}/{vmid}/config): one section of the page's forms, or
// the revert of a pending change. Values PVE would refuse are caught first
// and shown at their field without calling PVE; a digest that no longer
// matches gives 409 with the current values next to the person's.
func (s *Server) configure(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	sess, _ := currentSession(r.Context())
	section := r.PostForm.Get("section")
	if _, ok := sectionKeys[section]; !ok && section != secNetwork && section != "revert" {
		return lxc.Errorf(lxc.EInvalid, "That is not a settings form of this page.")
	}
	digest := r.PostForm.Get("digest")
	if len(digest) > 40 {
		return lxc.Errorf(lxc.EInvalid, "The form is damaged; reload the page.")
	}
	v, err := s.loadContainer(r.Context(), sess, t)
	if err != nil {
		return s.containerFailed(w, r, sess, t, err)
	}
	v.Charts = chartQuery{Timeframe: "hour", CF: "AVERAGE"}
	forms := settingsFromConfig(v.Config, v.Can)
	forms.Digest = digest
	forms.Section = section

	var ch lxc.ConfigChange
	if section == "revert" {
		key := r.PostForm.Get("key")
		if !pendingKey(v.Pending, key) {
			return lxc.Errorf(lxc.EInvalid, "That change is no longer pending.")
		}
		ch = lxc.ConfigChange{Revert: []string{key}, Digest: digest}
	} else {
		ok := true
		if section == secNetwork {
			ok = forms.readNetworks(r.PostForm)
		} else {
			ok = forms.readSection(section, r.PostForm)
		}
		if !ok {
			forms.Error = msgFixFields
			v.Settings = forms
			s.render(w, r, http.StatusBadRequest, "container", v)
			return nil
		}
		ch = forms.change(section, v.Config)
		for _, k := range append(keysOf(ch.Set), ch.Delete...) {
			if !keyAllowed(v.Can, k) {
				return s.renderError(w, r, http.StatusForbidden, "Forbidden",
					fmt.Sprintf("You don't have permission to change this setting of %s (needs %s).", containerLabel(t.VMID), sectionPriv(section)))
			}
		}
	}
	if ch.Empty() {
		s.setFlash(w, sess, t, msgNoChange)
		http.Redirect(w, r, v.BaseURL()+"#"+section, http.StatusSeeOther)
		return nil
	}
	err = s.cfg.PVE.UpdateConfig(r.Context(), s.identity(sess), t.Node, t.VMID, ch)
	if err != nil {
		return s.configFailed(w, r, sess, v, forms, ch, err)
	}
	s.log.Info("audit: container configured", "request_id", requestID(r.Context()), "user", sess.Username,
		"node", t.Node, "vmid", t.VMID, "section", section, "set", strings.Join(keysOf(ch.Set), ","),
		"delete", strings.Join(ch.Delete, ","), "revert", strings.Join(ch.Revert, ","))
	msg := "Reverted the pending change of " + strings.Join(ch.Revert, ", ") + "."
	if section != "revert" {
		msg = "Saved. " + describeChange(ch, v.Config) + "."
		if v.CT.Running() {
			msg += " Changes a running container cannot take at once are shown as pending until its next start."
		}
	}
	s.setFlash(w, sess, t, msg)
	http.Redirect(w, r, v.BaseURL()+"#"+section, http.StatusSeeOther)
	return nil
}

// configFailed explains a change PVE refused. A refusal (HTTP 500) is told
// apart by reading the configuration again: a new digest means somebody
// else changed it (409 with their values beside the person's); a lock is
// named; anything else is shown as a refusal without PVE's text.
func (s *Server) configFailed(w http.ResponseWriter, r *http.Request, sess session.Session, v containerView, forms settingsForms, ch lxc.ConfigChange, err error) error {
	t := v.Target
	s.log.Warn("container configure failed", "request_id", requestID(r.Context()), "user", sess.Username, "vmid", t.VMID, "err", err)
	switch lxc.ErrorCode(err) {
	case lxc.EUnauthorized:
		s.endSession(r.Context(), sess)
		s.toLogin(w, r, "expired")
		return nil
	case lxc.EForbidden:
		forms.Error = fmt.Sprintf("You don't have permission to change this setting of %s (needs %s).", containerLabel(t.VMID), sectionPriv(forms.Section))
		v.Settings = forms
		s.render(w, r, http.StatusForbidden, "container", v)
		return nil
	case lxc.ERefused:
	default:
		return err
	}
	now, cerr := s.cfg.PVE.ContainerConfig(r.Context(), s.identity(sess), t.Node, t.VMID, false)
	switch {
	case cerr != nil:
		forms.Error = "Proxmox VE refused the change."
	case now.Digest != ch.Digest && ch.Digest != "":
		forms.Conflict = true
		forms.Error = msgConflict
		forms.Digest = now.Digest // a second submit applies the person's values
		v.Config = now
		for _, k := range sectionKeys[forms.Section] {
			if x := forms.F(k); x.Value != formValue(now, k) {
				x.Now = formValue(now, k)
				if x.Now == "" {
					x.Now = "(not set)"
				}
			}
		}
		if forms.Section == secNetwork {
			for i, n := range forms.Nets {
				if !sameProperties(n.value(), now.Get(n.Key)) {
					forms.Nets[i].setError("name", "Now in Proxmox VE: "+orNotSet(now.Get(n.Key)))
				}
			}
		}
		v.Settings = forms
		s.render(w, r, http.StatusConflict, "container", v)
		return nil
	case now.Get("lock") != "":
		forms.Error = fmt.Sprintf("%s is locked (%s); try again when that has finished.", containerLabel(t.VMID), now.Get("lock"))
	default:
		forms.Error = "Proxmox VE refused the change. Check the values and try again."
	}
	v.Settings = forms
	s.render(w, r, http.StatusConflict, "container", v)
	return nil
}

func orNotSet(v string) string {
	if v == "" {
		return "(removed)"
	}
	return v
}

func pendingKey(p []lxc.PendingChange, key string) bool {
	for _, c := range p {
		if c.Key == key {
			return true
		}
	}
	return false
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// resize grows the root disk (POST /containers/{node}/{vmid}/resize) to the
// size asked for in GiB; a smaller size is refused before PVE is asked.
// The resize is a task: the browser goes to its page.
func (s *Server) resize(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		return lxc.Errorf(lxc.EInvalid, "The form could not be read.")
	}
	sess, _ := currentSession(r.Context())
	v, err := s.loadContainer(r.Context(), sess, t)
	if err != nil {
		return s.containerFailed(w, r, sess, t, err)
	}
	forms := settingsFromConfig(v.Config, v.Can)
	forms.Section = "disk"
	cur := lxc.ParseRootFS(v.Config.Get("rootfs")).Size
	want, perr := strconv.ParseFloat(strings.TrimSpace(r.PostForm.Get("size")), 64)
	newSize := int64(want * (1 << 30))
	switch {
	case perr != nil || want <= 0 || want > 1<<20:
		forms.Error = "Enter the new size of the root disk in GiB, e.g. 16."
	case newSize <= cur:
		forms.Error = fmt.Sprintf("The root disk can only grow: enter more than its current %s.", formatBytes(cur))
	}
	if forms.Error != "" {
		forms.DiskSize = r.PostForm.Get("size")
		v.Charts = chartQuery{Timeframe: "hour", CF: "AVERAGE"}
		v.Settings = forms
		s.render(w, r, http.StatusBadRequest, "container", v)
		return nil
	}
	size := strconv.FormatInt(newSize>>20, 10) + "M"
	if newSize%(1<<30) == 0 {
		size = strconv.FormatInt(newSize>>30, 10) + "G"
	}
	upid, err := s.cfg.PVE.ResizeDisk(r.Context(), s.identity(sess), t.Node, t.VMID, "rootfs", size, r.PostForm.Get("digest"))
	if err != nil {
		forms.Section = "disk"
		return s.configFailed(w, r, sess, v, forms, lxc.ConfigChange{Digest: r.PostForm.Get("digest")}, err)
	}
	s.log.Info("audit: container disk resized", "request_id", requestID(r.Context()), "user", sess.Username,
		"node", t.Node, "vmid", t.VMID, "size", size)
	taskURL := "/tasks/" + url.PathEscape(t.Node) + "/" + url.PathEscape(upid)
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, actionResult{UPID: upid, Node: t.Node, VMID: t.VMID, Action: "resize", TaskURL: taskURL,
			Message: fmt.Sprintf("Growing the root disk of %s to %s…", containerLabel(t.VMID), size)})
		return nil
	}
	http.Redirect(w, r, taskURL, http.StatusSeeOther)
	return nil
}

// Flash messages carry "what changed" across the redirect after a form,
// sealed to the session so nobody can plant one through a link.

const flashCookie = "lxc-flash"

func (s *Server) setFlash(w http.ResponseWriter, sess session.Session, t target, msg string) {
	sealed, err := s.cfg.Codec.SealField(sess.ID, "flash", msg)
	if err != nil {
		s.log.Error("seal flash message", "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: sealed, Path: containerPath(t), MaxAge: 60,
		HttpOnly: true, Secure: s.cfg.CookieSecure, SameSite: http.SameSiteStrictMode})
}

// takeFlash returns the flash message for this page, if any, and clears it.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request, t target) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: containerPath(t), MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, Secure: s.cfg.CookieSecure, SameSite: http.SameSiteStrictMode})
	sess, _ := currentSession(r.Context())
	msg, err := s.cfg.Codec.OpenField(sess.ID, "flash", c.Value)
	if err != nil {
		return ""
	}
	return msg
}

func containerPath(t target) string {
	return fmt.Sprintf("/containers/%s/%d", url.PathEscape(t.Node), t.VMID)
}
