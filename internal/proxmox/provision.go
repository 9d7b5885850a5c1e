package proxmox

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// What a node offers a new container: storages and their volumes, the
// appliance index, bridges; the pools and the next free VMID.

// Storages returns the storages of node that hold content ct ("" for
// all) and are enabled (GET /nodes/{node}/storage?content=ct&enabled=1).
// PVE lists only those the user may audit or allocate on.
func (c *Client) Storages(ctx context.Context, id lxc.Identity, node, ct string) ([]lxc.Storage, error) {
	var raw []struct {
		Storage string `json:"storage"`
		Type    string `json:"type"`
		Content string `json:"content"`
		Shared  Num    `json:"shared"`
		Active  Num    `json:"active"`
		Total   Num    `json:"total"`
		Used    Num    `json:"used"`
		Avail   Num    `json:"avail"`
	}
	q := url.Values{"enabled": {"1"}}
	if ct != "" {
		q.Set("content", ct)
	}
	path := "/nodes/" + url.PathEscape(node) + "/storage"
	if err := c.do(ctx, request{method: http.MethodGet, path: path, route: "/nodes/{node}/storage", query: q, id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Storage, 0, len(raw))
	for _, s := range raw {
		content := strings.Split(s.Content, ",")
		sort.Strings(content)
		out = append(out, lxc.Storage{ID: s.Storage, Type: s.Type, Content: content, Shared: s.Shared.Bool(),
			Active: s.Active.Bool(), Total: s.Total.Int(), Used: s.Used.Int(), Avail: s.Avail.Int()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// StorageContent returns the volumes of content type ct ("" for all) on a
// storage of node, sorted by volid; PVE leaves out those the user may not
// use.
func (c *Client) StorageContent(ctx context.Context, id lxc.Identity, node, storage, ct string) ([]lxc.Volume, error) {
	var raw []struct {
		VolID   string `json:"volid"`
		Content string `json:"content"`
		Format  string `json:"format"`
		Size    Num    `json:"size"`
		VMID    Num    `json:"vmid"`
		CTime   Num    `json:"ctime"`
	}
	var q url.Values
	if ct != "" {
		q = url.Values{"content": {ct}}
	}
	path := "/nodes/" + url.PathEscape(node) + "/storage/" + url.PathEscape(storage) + "/content"
	req := request{method: http.MethodGet, path: path, route: "/nodes/{node}/storage/{storage}/content", query: q, id: &id}
	if err := c.do(ctx, req, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Volume, 0, len(raw))
	for _, v := range raw {
		out = append(out, lxc.Volume{VolID: v.VolID, Content: v.Content, Format: v.Format, Size: v.Size.Int(),
			VMID: int(v.VMID.Int()), CTime: v.CTime.Int()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VolID < out[j].VolID })
	return out, nil
}

// Appliances returns node's appliance index (GET /nodes/{node}/aplinfo),
// sorted by template name.
func (c *Client) Appliances(ctx context.Context, id lxc.Identity, node string) ([]lxc.Appliance, error) {
	var raw []struct {
		Template    string `json:"template"`
		Package     string `json:"package"`
		Version     string `json:"version"`
		OS          string `json:"os"`
		Section     string `json:"section"`
		Headline    string `json:"headline"`
		Description string `json:"description"`
		Type        string `json:"type"`
	}
	path := "/nodes/" + url.PathEscape(node) + "/aplinfo"
	if err := c.do(ctx, request{method: http.MethodGet, path: path, route: "/nodes/{node}/aplinfo", id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Appliance, 0, len(raw))
	for _, a := range raw {
		if a.Type != "" && a.Type != "lxc" {
			continue
		}
		out = append(out, lxc.Appliance{Template: a.Template, Package: a.Package, Version: a.Version, OS: a.OS,
			Section: a.Section, Headline: a.Headline, Description: a.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template < out[j].Template })
	return out, nil
}

// Bridges returns the bridges of node a container may join
// (GET /nodes/{node}/network?type=any_bridge): PVE shows only those the
// user has SDN.Use or SDN.Audit on.
func (c *Client) Bridges(ctx context.Context, id lxc.Identity, node string) ([]lxc.Bridge, error) {
	var raw []struct {
		Iface     string `json:"iface"`
		Type      string `json:"type"`
		CIDR      string `json:"cidr"`
		VLANAware Num    `json:"bridge_vlan_aware"`
		Comments  string `json:"comments"`
		Active    Num    `json:"active"`
	}
	path := "/nodes/" + url.PathEscape(node) + "/network"
	q := url.Values{"type": {"any_bridge"}}
	if err := c.do(ctx, request{method: http.MethodGet, path: path, route: "/nodes/{node}/network", query: q, id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Bridge, 0, len(raw))
	for _, b := range raw {
		out = append(out, lxc.Bridge{Name: b.Iface, Type: b.Type, CIDR: b.CIDR, VLANAware: b.VLANAware.Bool(),
			Comment: strings.TrimSpace(b.Comments), Active: b.Active.Bool()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Pools returns the pools the user may audit (GET /pools).
func (c *Client) Pools(ctx context.Context, id lxc.Identity) ([]lxc.Pool, error) {
	var raw []struct {
		PoolID  string `json:"poolid"`
		Comment string `json:"comment"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/pools", id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Pool, 0, len(raw))
	for _, p := range raw {
		out = append(out, lxc.Pool{ID: p.PoolID, Comment: p.Comment})
	}
	return out, nil
}

// NextID returns the lowest free VMID (GET /cluster/nextid). It is no
// reservation: a create may still find the VMID taken.
func (c *Client) NextID(ctx context.Context, id lxc.Identity) (int, error) {
	var n Num
	if err := c.do(ctx, request{method: http.MethodGet, path: "/cluster/nextid", id: &id}, &n); err != nil {
		return 0, err
	}
	return int(n.Int()), nil
}

// VMIDFree reports whether no guest uses vmid (GET /cluster/nextid?vmid=N:
// PVE answers 400 with an error for the vmid parameter when one does).
func (c *Client) VMIDFree(ctx context.Context, id lxc.Identity, vmid int) (bool, error) {
	var n Num
	q := url.Values{"vmid": {strconv.Itoa(vmid)}}
	err := c.do(ctx, request{method: http.MethodGet, path: "/cluster/nextid", query: q, id: &id}, &n)
	var pe *Error
	if errors.As(err, &pe) && pe.Status == http.StatusBadRequest {
		if _, taken := pe.Params["vmid"]; taken {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	return true, nil
}
