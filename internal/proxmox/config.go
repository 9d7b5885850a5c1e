package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// ctPath is the API path of a container below /nodes.
func ctPath(node string, vmid int, rest string) string {
	return fmt.Sprintf("/nodes/%s/lxc/%d%s", url.PathEscape(node), vmid, rest)
}

// configValue reads one config value whatever JSON type PVE chose for it
// (numbers and 0/1 booleans arrive as numbers, cpulimit as a string).
type configValue string

// UnmarshalJSON keeps strings as they are and numbers in their shortest
// text form; null becomes "".
func (v *configValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*v = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = configValue(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("proxmox: config value %s is neither text nor a number", b)
		}
		*v = configValue(n.String())
	}
	return nil
}

// ContainerConfig returns GET /nodes/{node}/lxc/{vmid}/config: with current
// set, the values in effect now (pending changes left out); otherwise the
// values that take effect at the next start. The digest is split off.
func (c *Client) ContainerConfig(ctx context.Context, id lxc.Identity, node string, vmid int, current bool) (lxc.Config, error) {
	var raw map[string]configValue
	var q url.Values
	if current {
		q = url.Values{"current": {"1"}}
	}
	req := request{method: http.MethodGet, path: ctPath(node, vmid, "/config"), route: "/nodes/{node}/lxc/{vmid}/config", query: q, id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return lxc.Config{}, err
	}
	cfg := lxc.Config{Values: make(map[string]string, len(raw))}
	for k, v := range raw {
		if k == "digest" {
			cfg.Digest = string(v)
			continue
		}
		cfg.Values[k] = string(v)
	}
	return cfg, nil
}

// ContainerPending returns GET .../pending: every config key with its
// current value and, where one waits for the next start, its pending value
// or deletion. Entries come back sorted by key.
func (c *Client) ContainerPending(ctx context.Context, id lxc.Identity, node string, vmid int) ([]lxc.PendingChange, error) {
	var raw []struct {
		Key     string       `json:"key"`
		Value   *configValue `json:"value"`
		Pending *configValue `json:"pending"`
		Delete  Num          `json:"delete"`
	}
	req := request{method: http.MethodGet, path: ctPath(node, vmid, "/pending"), route: "/nodes/{node}/lxc/{vmid}/pending", id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.PendingChange, 0, len(raw))
	for _, r := range raw {
		p := lxc.PendingChange{Key: r.Key, Delete: r.Delete.Bool()}
		if r.Value != nil {
			p.Value = string(*r.Value)
		}
		if r.Pending != nil {
			p.Pending, p.HasNew = string(*r.Pending), true
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// UpdateConfig sends PUT /nodes/{node}/lxc/{vmid}/config. PVE applies it at
// once (data: null), or keeps what a running container cannot take as
// pending. A digest that no longer matches gives an ERefused error (PVE:
// "detected modified configuration"), as do other refusals: callers tell
// them apart by reading the configuration again. Never retried.
func (c *Client) UpdateConfig(ctx context.Context, id lxc.Identity, node string, vmid int, ch lxc.ConfigChange) error {
	form := url.Values{}
	keys := make([]string, 0, len(ch.Set))
	for k := range ch.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		form.Set(k, ch.Set[k])
	}
	if len(ch.Delete) > 0 {
		form.Set("delete", strings.Join(ch.Delete, ","))
	}
	if len(ch.Revert) > 0 {
		form.Set("revert", strings.Join(ch.Revert, ","))
	}
	if ch.Digest != "" {
		form.Set("digest", ch.Digest)
	}
	req := request{method: http.MethodPut, path: ctPath(node, vmid, "/config"), route: "/nodes/{node}/lxc/{vmid}/config", form: form, id: &id}
	return c.do(ctx, req, nil)
}

// ResizeDisk grows a container's disk (PUT .../resize) and returns the
// task's UPID. size is absolute ("12G") or an increment ("+2G"); PVE
// refuses to shrink. Never retried.
func (c *Client) ResizeDisk(ctx context.Context, id lxc.Identity, node string, vmid int, disk, size, digest string) (string, error) {
	form := url.Values{"disk": {disk}, "size": {size}}
	if digest != "" {
		form.Set("digest", digest)
	}
	var upid string
	req := request{method: http.MethodPut, path: ctPath(node, vmid, "/resize"), route: "/nodes/{node}/lxc/{vmid}/resize", form: form, id: &id}
	if err := c.do(ctx, req, &upid); err != nil {
		return "", err
	}
	return upid, nil
}

// Interfaces returns a running container's network interfaces with their
// addresses (GET .../interfaces).
func (c *Client) Interfaces(ctx context.Context, id lxc.Identity, node string, vmid int) ([]lxc.Interface, error) {
	var raw []struct {
		Name   string `json:"name"`
		HWAddr string `json:"hwaddr"`
		Inet   string `json:"inet"`
		Inet6  string `json:"inet6"`
	}
	req := request{method: http.MethodGet, path: ctPath(node, vmid, "/interfaces"), route: "/nodes/{node}/lxc/{vmid}/interfaces", id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Interface, len(raw))
	for i, r := range raw {
		out[i] = lxc.Interface{Name: r.Name, HWAddr: r.HWAddr, Inet: r.Inet, Inet6: r.Inet6}
	}
	return out, nil
}

// RRDData returns a container's statistics over timeframe (hour, day, week,
// month, year) consolidated by cf (AVERAGE or MAX). Fields PVE leaves out
// stay nil.
func (c *Client) RRDData(ctx context.Context, id lxc.Identity, node string, vmid int, timeframe, cf string) ([]lxc.RRDPoint, error) {
	q := url.Values{"timeframe": {timeframe}}
	if cf != "" {
		q.Set("cf", cf)
	}
	var raw []lxc.RRDPoint
	req := request{method: http.MethodGet, path: ctPath(node, vmid, "/rrddata"), route: "/nodes/{node}/lxc/{vmid}/rrddata", query: q, id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// NodeTasks returns a node's recent tasks (GET /nodes/{node}/tasks), newest
// first as PVE sends them, and PVE's total count for the filter.
func (c *Client) NodeTasks(ctx context.Context, id lxc.Identity, node string, f lxc.TaskFilter) ([]lxc.TaskEntry, int, error) {
	q := url.Values{}
	if f.VMID > 0 {
		q.Set("vmid", strconv.Itoa(f.VMID))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Start > 0 {
		q.Set("start", strconv.Itoa(f.Start))
	}
	if f.Source != "" {
		q.Set("source", f.Source)
	}
	var raw []struct {
		UPID      string `json:"upid"`
		Node      string `json:"node"`
		Type      string `json:"type"`
		ID        string `json:"id"`
		User      string `json:"user"`
		StartTime Num    `json:"starttime"`
		EndTime   Num    `json:"endtime"`
		Status    string `json:"status"`
	}
	var total Num
	req := request{method: http.MethodGet, path: fmt.Sprintf("/nodes/%s/tasks", url.PathEscape(node)), route: "/nodes/{node}/tasks", query: q, id: &id, total: &total}
	if err := c.do(ctx, req, &raw); err != nil {
		return nil, 0, err
	}
	out := make([]lxc.TaskEntry, len(raw))
	for i, r := range raw {
		out[i] = lxc.TaskEntry{UPID: r.UPID, Node: r.Node, Type: r.Type, ID: r.ID, User: r.User,
			StartTime: r.StartTime.Int(), EndTime: r.EndTime.Int(), Status: r.Status}
	}
	return out, int(total.Int()), nil
}
