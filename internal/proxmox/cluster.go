package proxmox

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Version returns GET /version as seen by id.
func (c *Client) Version(ctx context.Context, id lxc.Identity) (lxc.Version, error) {
	var v struct {
		Version string `json:"version"`
		Release string `json:"release"`
		RepoID  string `json:"repoid"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/version", id: &id}, &v); err != nil {
		return lxc.Version{}, err
	}
	return lxc.Version{Version: v.Version, Release: v.Release, RepoID: v.RepoID}, nil
}

// Nodes returns GET /nodes as seen by id, sorted by name.
func (c *Client) Nodes(ctx context.Context, id lxc.Identity) ([]lxc.Node, error) {
	var raw []struct {
		Node   string `json:"node"`
		Status string `json:"status"`
		CPU    *Num   `json:"cpu"`
		MaxCPU Num    `json:"maxcpu"`
		Mem    Num    `json:"mem"`
		MaxMem Num    `json:"maxmem"`
		Uptime Num    `json:"uptime"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/nodes", id: &id}, &raw); err != nil {
		return nil, err
	}
	nodes := make([]lxc.Node, 0, len(raw))
	for _, n := range raw {
		node := lxc.Node{Name: n.Node, Status: n.Status, HasStats: n.CPU != nil}
		if n.CPU != nil {
			node.CPU = float64(*n.CPU)
			node.MaxCPU = int(n.MaxCPU.Int())
			node.Mem = n.Mem.Int()
			node.MaxMem = n.MaxMem.Int()
			node.Uptime = time.Duration(n.Uptime.Int()) * time.Second
		}
		nodes = append(nodes, node)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}
