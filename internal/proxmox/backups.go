package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Backups of containers: the storages that hold them, their lists, vzdump,
// deleting, notes and protection, and restoring (PVE API: §6.20 of the
// facts). vzdump, delete and restore are tasks: the UPID comes at once.

// StorageEntries returns every storage entry of /cluster/resources?type=
// storage: one per node where a storage is enabled. PVE lists only the
// storages the user may audit.
func (c *Client) StorageEntries(ctx context.Context, id lxc.Identity) ([]lxc.StorageEntry, error) {
	var raw []struct {
		Type       string `json:"type"`
		Storage    string `json:"storage"`
		Node       string `json:"node"`
		PluginType string `json:"plugintype"`
		Content    string `json:"content"`
		Shared     Num    `json:"shared"`
		Status     string `json:"status"`
		Disk       Num    `json:"disk"`
		MaxDisk    Num    `json:"maxdisk"`
	}
	q := url.Values{"type": {"storage"}}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/cluster/resources", query: q, id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.StorageEntry, 0, len(raw))
	for _, r := range raw {
		if r.Type != "storage" {
			continue
		}
		var content []string
		if r.Content != "" {
			content = strings.Split(r.Content, ",")
		}
		out = append(out, lxc.StorageEntry{Storage: r.Storage, Node: r.Node, Type: r.PluginType, Content: content,
			Shared: r.Shared.Bool(), Status: r.Status, Total: r.MaxDisk.Int(), Used: r.Disk.Int()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Storage != out[j].Storage {
			return out[i].Storage < out[j].Storage
		}
		return out[i].Node < out[j].Node
	})
	return out, nil
}

// Backups lists the backups on storage as node sees it (GET
// .../storage/{storage}/content?content=backup), of guest vmid only when
// vmid > 0. PVE leaves out the backups the user may not access.
func (c *Client) Backups(ctx context.Context, id lxc.Identity, node, storage string, vmid int) ([]lxc.Backup, error) {
	var raw []struct {
		VolID        string `json:"volid"`
		Content      string `json:"content"`
		VMID         Num    `json:"vmid"`
		CTime        Num    `json:"ctime"`
		Size         Num    `json:"size"`
		Format       string `json:"format"`
		Notes        string `json:"notes"`
		Protected    Num    `json:"protected"`
		Verification *struct {
			State string `json:"state"`
		} `json:"verification"`
	}
	q := url.Values{"content": {"backup"}}
	if vmid > 0 {
		q.Set("vmid", strconv.Itoa(vmid))
	}
	path := "/nodes/" + url.PathEscape(node) + "/storage/" + url.PathEscape(storage) + "/content"
	req := request{method: http.MethodGet, path: path, route: "/nodes/{node}/storage/{storage}/content", query: q, id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Backup, 0, len(raw))
	for _, r := range raw {
		if r.Content != "" && r.Content != "backup" {
			continue
		}
		b := lxc.Backup{VolID: r.VolID, Storage: storage, Node: node, VMID: int(r.VMID.Int()), Size: r.Size.Int(),
			Format: r.Format, Notes: r.Notes, Protected: r.Protected.Bool()}
		if r.CTime > 0 {
			b.Time = time.Unix(r.CTime.Int(), 0)
		}
		if r.Verification != nil {
			b.Verified = r.Verification.State
		}
		out = append(out, b)
	}
	return out, nil
}

// Backup starts a backup of container vmid on its node (POST
// /nodes/{node}/vzdump) and returns the task's UPID. PVE checks
// Datastore.AllocateSpace at once and VM.Backup inside the task.
func (c *Client) Backup(ctx context.Context, id lxc.Identity, node string, vmid int, o lxc.BackupOptions) (string, error) {
	form := url.Values{"vmid": {strconv.Itoa(vmid)}}
	if o.Storage != "" {
		form.Set("storage", o.Storage)
	}
	if o.Mode != "" {
		form.Set("mode", o.Mode)
	}
	if o.Compress != "" {
		form.Set("compress", o.Compress)
	}
	if o.Notes != "" {
		form.Set("notes-template", NotesTemplate(o.Notes))
	}
	if o.Protected {
		form.Set("protected", "1")
	}
	var upid string
	path := "/nodes/" + url.PathEscape(node) + "/vzdump"
	if err := c.do(ctx, request{method: http.MethodPost, path: path, route: "/nodes/{node}/vzdump", form: form, id: &id}, &upid); err != nil {
		return "", err
	}
	if !strings.HasPrefix(upid, "UPID:") {
		// PVE answers "OK" without a task when the guest lives elsewhere.
		return "", &Error{Op: "POST /nodes/{node}/vzdump", Kind: lxc.ERefused, Message: fmt.Sprintf("CT %d is not on node %s", vmid, node)}
	}
	return upid, nil
}

// NotesTemplate writes notes as vzdump's notes template: a backslash and
// a line break are escaped (\\ and \n); {{guestname}}, {{node}}, {{vmid}}
// and {{cluster}} stay variables.
func NotesTemplate(notes string) string {
	notes = strings.ReplaceAll(notes, "\r\n", "\n")
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(notes)
}

// volumePath is the path of a volume of storage (the volid's '/' escaped).
func volumePath(node, volid string) (string, error) {
	sid, _, ok := strings.Cut(volid, ":")
	if !ok || sid == "" {
		return "", &Error{Op: "volume", Kind: lxc.EInvalid, Err: fmt.Errorf("%q is no volume id", volid)}
	}
	return "/nodes/" + url.PathEscape(node) + "/storage/" + url.PathEscape(sid) + "/content/" + url.PathEscape(volid), nil
}

// DeleteBackup starts the removal of a backup (DELETE
// .../content/{volume}) and returns the task's UPID. A protected backup
// makes the task fail.
func (c *Client) DeleteBackup(ctx context.Context, id lxc.Identity, node, volid string) (string, error) {
	path, err := volumePath(node, volid)
	if err != nil {
		return "", err
	}
	var upid string
	req := request{method: http.MethodDelete, path: path, route: "/nodes/{node}/storage/{storage}/content/{volume}", id: &id}
	if err := c.do(ctx, req, &upid); err != nil {
		return "", err
	}
	return upid, nil
}

// UpdateBackup changes a backup's notes ("" removes them) and protection
// (PUT .../content/{volume}); nil leaves one as it is. Synchronous.
func (c *Client) UpdateBackup(ctx context.Context, id lxc.Identity, node, volid string, notes *string, protected *bool) error {
	path, err := volumePath(node, volid)
	if err != nil {
		return err
	}
	form := url.Values{}
	if notes != nil {
		form.Set("notes", *notes)
	}
	if protected != nil {
		form.Set("protected", boolValue(*protected))
	}
	return c.do(ctx, request{method: http.MethodPut, path: path, route: "/nodes/{node}/storage/{storage}/content/{volume}", form: form, id: &id}, nil)
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Restore starts restoring a backup (POST /nodes/{node}/lxc with
// restore=1) and returns the task's UPID: over the existing container
// vmid with Force, or as the new container vmid.
func (c *Client) Restore(ctx context.Context, id lxc.Identity, node string, o lxc.RestoreOptions) (string, error) {
	form := url.Values{"vmid": {strconv.Itoa(o.VMID)}, "ostemplate": {o.Archive}, "restore": {"1"}}
	if o.Storage != "" {
		form.Set("storage", o.Storage)
	}
	if o.Force {
		form.Set("force", "1")
	}
	if o.Pool != "" {
		form.Set("pool", o.Pool)
	}
	if o.Start {
		form.Set("start", "1")
	}
	if o.Unique {
		form.Set("unique", "1")
	}
	var upid string
	path := "/nodes/" + url.PathEscape(node) + "/lxc"
	if err := c.do(ctx, request{method: http.MethodPost, path: path, route: "/nodes/{node}/lxc", form: form, id: &id}, &upid); err != nil {
		return "", err
	}
	return upid, nil
}
