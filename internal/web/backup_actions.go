package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Backup forms of the container page. "Back up now", a restore and a
// deletion start PVE tasks (the browser follows the task page, which links
// back); a restore and a deletion first show a page that names what will
// be lost and asks for the container's name to be typed. Notes and
// protection change at once.

// backupsAnchor is where the page's backups section starts.
const backupsAnchor = "#backups"

// backupVolIDRe is a container backup's volid (storage IDs as
// storageIDPattern).
var (
	backupVolIDRe = regexp.MustCompile(`^(?i)[a-z][a-z0-9\-_.]*[a-z0-9]:backup/vzdump-lxc-\d+-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}\.tar(\.(zst|gz|lzo))?$`)
)

// maxBackupNotes bounds the notes (PVE's notes template takes 1024
// characters, escapes included).
const maxBackupNotes = 1024

// backupPage is the restore and the delete page.
type backupPage struct {
	Target  target
	Title   string // "CT 101 web-01"
	Name    string // what the person types to confirm
	Op      string // "restore" or "delete"
	Row     backupRow
	CT      lxc.Container
	Can     backupCan
	Targets []storageOpt
	// Snapshots the container has (a restore over it removes them).
	Snapshots  int
	Protection bool // the container's protection flag (a restore over it is refused)
	Storage    string
	NewVMID    string
	Pool       string   // the pool a new container joins
	Pools      []string // the pools it may join
	NoPool     bool     // it may also join none
	Start      bool
	Typed      string
	Error      string
	ErrorFor   string // "over", "new" or "delete"
	Back       string
}

// TargetOptions is the storage choice of a restore.
func (p backupPage) TargetOptions() string { return storageOptions(p.Targets) }

// backupTarget reads the target and the form of a backup action.
func readBackupForm(w http.ResponseWriter, r *http.Request) (target, error) {
	return readSnapshotForm(w, r)
}

// backupNow is POST /containers/{node}/{vmid}/backups.
func (s *Server) backupNow(w http.ResponseWriter, r *http.Request) error {
	t, err := readBackupForm(w, r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	f := backupForm{Storage: r.PostForm.Get("storage"), Mode: r.PostForm.Get("mode"), Compress: r.PostForm.Get("compress"),
		Notes: strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("notes"), "\r\n", "\n")), Protected: r.PostForm.Get("protected") == "1"}
	switch {
	case !storageIDPattern.MatchString(f.Storage):
		f.Error = "Choose a storage for the backup."
	case f.Mode != "snapshot" && f.Mode != "suspend" && f.Mode != "stop":
		f.Error = "Choose a backup mode."
	case f.Compress != "zstd" && f.Compress != "gzip" && f.Compress != "lzo" && f.Compress != "0":
		f.Error = "Choose a compression."
	case len(notesTemplate(f.Notes)) > maxBackupNotes:
		f.Error = fmt.Sprintf("The notes are too long (at most %d characters).", maxBackupNotes)
	}
	if f.Error != "" {
		return s.renderBackupForm(w, r, sess, t, func(v *backupsView) { v.Form = f })
	}
	upid, err := s.cfg.PVE.Backup(r.Context(), s.identity(sess), t.Node, t.VMID,
		lxc.BackupOptions{Storage: f.Storage, Mode: f.Mode, Compress: f.Compress, Notes: f.Notes, Protected: f.Protected})
	if err != nil {
		if lxc.ErrorCode(err) == lxc.EForbidden {
			return s.renderError(w, r, http.StatusForbidden, "Forbidden",
				fmt.Sprintf("You don't have permission to back up to storage %s (needs %s there and %s on %s).", f.Storage, privSpace, privBackup, containerLabel(t.VMID)))
		}
		return s.snapshotFailed(w, r, sess, t, "back up", privBackup, err)
	}
	s.auditBackup(r, sess, t, "backup", f.Storage)
	http.Redirect(w, r, taskURLBack(t.Node, upid, containerPath(t)+backupsAnchor), http.StatusSeeOther)
	return nil
}

// notesTemplate is how long the notes are once escaped for PVE.
func notesTemplate(notes string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(notes)
}

// renderBackupForm shows the container page again with the backups
// section changed by edit (a refused form), status 400.
func (s *Server) renderBackupForm(w http.ResponseWriter, r *http.Request, sess session.Session, t target, edit func(*backupsView)) error {
	v, err := s.loadContainer(r.Context(), sess, t)
	if err != nil {
		return s.containerFailed(w, r, sess, t, err)
	}
	v.Charts = chartQuery{Timeframe: "hour", CF: "AVERAGE"}
	v.Settings = settingsFromConfig(v.Config, v.Can)
	edit(&v.Backups)
	s.render(w, r, http.StatusBadRequest, "container", v)
	return nil
}

// backupAttributes is POST .../backups/attributes: notes and protection.
func (s *Server) backupAttributes(w http.ResponseWriter, r *http.Request) error {
	t, err := readBackupForm(w, r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	volid := r.PostForm.Get("volid")
	if !backupVolIDRe.MatchString(volid) {
		return lxc.Errorf(lxc.EInvalid, "That is not a backup of this container.")
	}
	notes := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("notes"), "\r\n", "\n"))
	protected := r.PostForm.Get("protected") == "1"
	err = s.cfg.PVE.UpdateBackup(r.Context(), s.identity(sess), t.Node, volid, &notes, &protected)
	switch lxc.ErrorCode(err) {
	case "":
	case lxc.ERefused:
		msg := "Proxmox VE refused the change."
		if protected {
			msg = "Proxmox VE refused to protect this backup: without Datastore.Allocate on the storage, at most 5 backups per container may be protected there."
		}
		return s.renderBackupForm(w, r, sess, t, func(v *backupsView) { v.Error = msg })
	case lxc.EForbidden:
		return s.renderError(w, r, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("You don't have permission to change this backup (needs %s on its storage and %s on %s).", privSpace, privBackup, containerLabel(t.VMID)))
	default:
		return s.snapshotFailed(w, r, sess, t, "change backups of", privSpace+" and "+privBackup, err)
	}
	s.auditBackup(r, sess, t, "attributes", volid)
	s.setFlash(w, sess, t, "Saved the notes and protection of the backup.")
	http.Redirect(w, r, containerPath(t)+backupsAnchor, http.StatusSeeOther)
	return nil
}

// backupOp is POST .../backups/{restore,delete}: without confirm=1 it
// shows the page that asks; with it, and the container's name typed, the
// task starts.
func (s *Server) backupOp(op string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := readBackupForm(w, r)
		if err != nil {
			return err
		}
		sess, _ := currentSession(r.Context())
		volid := r.PostForm.Get("volid")
		if !backupVolIDRe.MatchString(volid) {
			return lxc.Errorf(lxc.EInvalid, "That is not a backup of this container.")
		}
		v, err := s.loadContainer(r.Context(), sess, t)
		if err != nil {
			return s.containerFailed(w, r, sess, t, err)
		}
		row, ok := v.Backups.row(volid)
		if !ok {
			return s.renderError(w, r, http.StatusNotFound, "Not Found", "That backup no longer exists, or you may not see it.")
		}
		p := s.newBackupPage(r, sess, v, row, op)
		if r.PostForm.Get("confirm") != "1" {
			s.render(w, r, http.StatusOK, "backupconfirm", p)
			return nil
		}
		if op == "delete" {
			return s.deleteBackupConfirmed(w, r, sess, p)
		}
		return s.restoreConfirmed(w, r, sess, p)
	}
}

// newBackupPage gathers what the restore and delete pages show.
func (s *Server) newBackupPage(r *http.Request, sess session.Session, v containerView, row backupRow, op string) backupPage {
	name := v.CT.Name
	if name == "" {
		name = fmt.Sprintf("CT%d", v.Target.VMID)
	}
	p := backupPage{Target: v.Target, Title: v.Title(), Name: name, Op: op, Row: row, CT: v.CT, Can: v.Backups.Can,
		Targets: v.Backups.Restore, Snapshots: v.Snapshots.Count, Protection: v.Config.Bool("protection", false),
		Start: v.CT.Running(), Back: containerPath(v.Target) + backupsAnchor,
		Typed: r.PostForm.Get("typed"), Storage: r.PostForm.Get("storage"), NewVMID: r.PostForm.Get("newid")}
	p.Pools, p.NoPool = v.Backups.Pools, v.Backups.NoPool
	p.Pool = r.PostForm.Get("pool")
	if !r.PostForm.Has("pool") && len(p.Pools) > 0 && (v.CT.Pool == "" || v.CT.Pool == p.Pools[0]) {
		p.Pool = p.Pools[0]
	}
	if p.Storage == "" {
		p.Storage = lxc.ParseRootFS(v.Config.Get("rootfs")).Storage
	}
	if op == "restore" && p.NewVMID == "" && p.Can.RestoreNew {
		if n, err := s.cfg.PVE.NextID(r.Context(), s.identity(sess)); err == nil {
			p.NewVMID = strconv.Itoa(n)
		}
	}
	if r.PostForm.Has("confirm") {
		p.Start = r.PostForm.Get("start") == "1"
	}
	return p
}

// PoolOptions is the pool choice of a restore as a new container.
func (p backupPage) PoolOptions() string {
	out := "options="
	if p.NoPool {
		out += ":(no pool)"
	}
	for i, name := range p.Pools {
		if i > 0 || p.NoPool {
			out += ","
		}
		out += name + ":" + name
	}
	return out
}

// poolAllowed reports whether a new container may join pool ("" none).
func (p backupPage) poolAllowed(pool string) bool {
	if pool == "" {
		return p.NoPool
	}
	for _, name := range p.Pools {
		if name == pool {
			return true
		}
	}
	return false
}

// allowedTarget reports whether sid is a storage the page offers.
func (p backupPage) allowedTarget(sid string) bool {
	for _, o := range p.Targets {
		if o.ID == sid {
			return true
		}
	}
	return false
}

// deleteBackupConfirmed deletes the backup once the name was typed.
func (s *Server) deleteBackupConfirmed(w http.ResponseWriter, r *http.Request, sess session.Session, p backupPage) error {
	p.ErrorFor = "delete"
	switch {
	case !p.Row.CanDelete:
		return s.renderError(w, r, http.StatusForbidden, "Forbidden",
			fmt.Sprintf("You don't have permission to delete this backup (needs %s on storage %s and %s on %s).", privSpace, p.Row.Storage, privBackup, containerLabel(p.Target.VMID)))
	case p.Row.Protected:
		p.Error = "This backup is protected. Remove its protection first."
	case p.Typed != p.Name:
		p.Error = fmt.Sprintf("Type the container's name, %s, to confirm.", p.Name)
	}
	if p.Error != "" {
		s.render(w, r, http.StatusBadRequest, "backupconfirm", p)
		return nil
	}
	upid, err := s.cfg.PVE.DeleteBackup(r.Context(), s.identity(sess), p.Target.Node, p.Row.VolID)
	if err != nil {
		return s.snapshotFailed(w, r, sess, p.Target, "delete backups of", privSpace+" and "+privBackup, err)
	}
	s.auditBackup(r, sess, p.Target, "delete", p.Row.VolID)
	http.Redirect(w, r, taskURLBack(p.Target.Node, upid, p.Back), http.StatusSeeOther)
	return nil
}

// restoreConfirmed restores over the container (its name typed) or as a
// new one.
func (s *Server) restoreConfirmed(w http.ResponseWriter, r *http.Request, sess session.Session, p backupPage) error {
	over := r.PostForm.Get("to") == "over"
	o := lxc.RestoreOptions{Archive: p.Row.VolID, Storage: p.Storage, Start: p.Start}
	if over {
		p.ErrorFor = "over"
		o.VMID, o.Force = p.Target.VMID, true
		switch {
		case !p.Can.RestoreOver:
			return s.renderError(w, r, http.StatusForbidden, "Forbidden",
				fmt.Sprintf("You don't have permission to restore over %s (needs %s or %s).", containerLabel(p.Target.VMID), privVMAllocate, privBackup))
		case p.CT.Running():
			p.Error = fmt.Sprintf("%s is running. Stop it first: a restore replaces a stopped container only.", containerLabel(p.Target.VMID))
		case p.Protection:
			p.Error = fmt.Sprintf("%s is protected. Turn its protection off under Options first.", containerLabel(p.Target.VMID))
		case p.Typed != p.Name:
			p.Error = fmt.Sprintf("Type the container's name, %s, to confirm.", p.Name)
		}
	} else {
		p.ErrorFor = "new"
		n, err := strconv.Atoi(strings.TrimSpace(p.NewVMID))
		switch {
		case !p.Can.RestoreNew || !p.Row.CanEdit:
			return s.renderError(w, r, http.StatusForbidden, "Forbidden",
				fmt.Sprintf("You don't have permission to create a container from this backup (needs %s).", privVMAllocate))
		case err != nil || n < 100 || n > 999999999:
			p.Error = "Enter the new container's ID: a number from 100 to 999999999."
		case !p.poolAllowed(p.Pool):
			p.Error = "Choose a pool you may create containers in."
		}
		o.VMID, o.Pool, o.Unique = n, p.Pool, true
	}
	if p.Error == "" && !p.allowedTarget(p.Storage) {
		p.Error = "Choose a storage for the container's disks."
	}
	if p.Error != "" {
		s.render(w, r, http.StatusBadRequest, "backupconfirm", p)
		return nil
	}
	upid, err := s.cfg.PVE.Restore(r.Context(), s.identity(sess), p.Target.Node, o)
	if err != nil {
		switch lxc.ErrorCode(err) {
		case lxc.ERefused, lxc.EInvalid:
			p.Error = fmt.Sprintf("Proxmox VE refused to restore to CT %d.", o.VMID)
			if !over {
				p.Error += " The ID may already be in use; try another one."
			}
			s.render(w, r, http.StatusConflict, "backupconfirm", p)
			return nil
		}
		return s.snapshotFailed(w, r, sess, p.Target, "restore backups of", privVMAllocate+" (or "+privBackup+" over the container) and "+privSpace, err)
	}
	s.auditBackup(r, sess, p.Target, "restore", fmt.Sprintf("%s to %d", p.Row.VolID, o.VMID))
	http.Redirect(w, r, taskURLBack(p.Target.Node, upid, p.Back), http.StatusSeeOther)
	return nil
}

func (s *Server) auditBackup(r *http.Request, sess session.Session, t target, op, what string) {
	s.log.Info("audit: backup", "request_id", requestID(r.Context()), "user", sess.Username, "client", clientAddr(r),
		"node", t.Node, "vmid", t.VMID, "op", op, "what", what, "outcome", "started")
}
