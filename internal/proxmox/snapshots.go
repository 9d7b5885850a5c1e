package proxmox

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// A container's snapshots (pve-container API2/LXC/Snapshot.pm). Taking,
// deleting and rolling back are tasks: the calls return the UPID at once
// and the outcome is in the task.

const snapshotRoute = "/nodes/{node}/lxc/{vmid}/snapshot"

// snapPath is the path of one snapshot (rest: "", "/rollback", "/config").
func snapPath(node string, vmid int, name, rest string) string {
	return ctPath(node, vmid, "/snapshot/"+url.PathEscape(name)+rest)
}

// Snapshots returns GET /nodes/{node}/lxc/{vmid}/snapshot: every snapshot
// and the entry for the current state (Current set), in PVE's order
// (undefined).
func (c *Client) Snapshots(ctx context.Context, id lxc.Identity, node string, vmid int) ([]lxc.Snapshot, error) {
	var raw []struct {
		Name        string `json:"name"`
		SnapTime    Num    `json:"snaptime"`
		Description string `json:"description"`
		Parent      string `json:"parent"`
		SnapState   string `json:"snapstate"`
		Running     Num    `json:"running"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: ctPath(node, vmid, "/snapshot"), route: snapshotRoute, id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Snapshot, 0, len(raw))
	for _, r := range raw {
		s := lxc.Snapshot{Name: r.Name, Parent: r.Parent, State: r.SnapState}
		if r.Name == "current" {
			// PVE describes the current state as "You are here!".
			s.Current, s.Running = true, r.Running.Bool()
		} else {
			s.Description = strings.TrimRight(r.Description, "\n")
			if r.SnapTime > 0 {
				s.Time = time.Unix(r.SnapTime.Int(), 0)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// CanSnapshot asks PVE whether every volume of the container is on
// storage that can take snapshots (GET .../feature?feature=snapshot, what
// PVE's own interface asks before it offers "Take Snapshot").
func (c *Client) CanSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int) (bool, error) {
	var r struct {
		HasFeature Num `json:"hasFeature"`
	}
	q := url.Values{"feature": {"snapshot"}}
	req := request{method: http.MethodGet, path: ctPath(node, vmid, "/feature"), route: "/nodes/{node}/lxc/{vmid}/feature", query: q, id: &id}
	if err := c.do(ctx, req, &r); err != nil {
		return false, err
	}
	return r.HasFeature.Bool(), nil
}

// TakeSnapshot starts a snapshot of the container (POST .../snapshot) and
// returns the task's UPID. A taken name, storage without snapshots or a
// lock make the task fail, not this call.
func (c *Client) TakeSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int, name, description string) (string, error) {
	form := url.Values{"snapname": {name}}
	if description != "" {
		form.Set("description", description)
	}
	var upid string
	err := c.do(ctx, request{method: http.MethodPost, path: ctPath(node, vmid, "/snapshot"), route: snapshotRoute, form: form, id: &id}, &upid)
	return upid, err
}

// DeleteSnapshot starts the removal of a snapshot (DELETE
// .../snapshot/{snapname}) and returns the task's UPID.
func (c *Client) DeleteSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int, name string) (string, error) {
	var upid string
	err := c.do(ctx, request{method: http.MethodDelete, path: snapPath(node, vmid, name, ""), route: snapshotRoute + "/{snapname}", id: &id}, &upid)
	return upid, err
}

// RollbackSnapshot starts a rollback to a snapshot (POST
// .../snapshot/{snapname}/rollback): a running container is stopped
// first; with start it is started again afterwards, in a task of its own.
func (c *Client) RollbackSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int, name string, start bool) (string, error) {
	form := url.Values{}
	if start {
		form.Set("start", "1")
	}
	var upid string
	req := request{method: http.MethodPost, path: snapPath(node, vmid, name, "/rollback"), route: snapshotRoute + "/{snapname}/rollback", form: form, id: &id}
	err := c.do(ctx, req, &upid)
	return upid, err
}

// SetSnapshotDescription changes a snapshot's description (PUT
// .../snapshot/{snapname}/config; synchronous). PVE reads an empty form
// value as no value and then changes nothing, so an empty description
// cannot remove one; callers refuse it first.
func (c *Client) SetSnapshotDescription(ctx context.Context, id lxc.Identity, node string, vmid int, name, description string) error {
	form := url.Values{"description": {description}}
	req := request{method: http.MethodPut, path: snapPath(node, vmid, name, "/config"), route: snapshotRoute + "/{snapname}/config", form: form, id: &id}
	return c.do(ctx, req, nil)
}

// SnapshotConfig returns the options a snapshot captured (GET
// .../snapshot/{snapname}/config), typed as the container configuration
// is; the snapshot's own keys (snaptime, parent, description) included.
func (c *Client) SnapshotConfig(ctx context.Context, id lxc.Identity, node string, vmid int, name string) (lxc.Config, error) {
	var raw map[string]configValue
	req := request{method: http.MethodGet, path: snapPath(node, vmid, name, "/config"), route: snapshotRoute + "/{snapname}/config", id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return lxc.Config{}, err
	}
	cfg := lxc.Config{Values: make(map[string]string, len(raw))}
	for k, v := range raw {
		cfg.Values[k] = string(v)
	}
	return cfg, nil
}
