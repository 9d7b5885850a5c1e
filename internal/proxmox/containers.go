package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// resource is one entry of GET /cluster/resources.
type resource struct {
	Type     string `json:"type"`
	VMID     Num    `json:"vmid"`
	Name     string `json:"name"`
	Node     string `json:"node"`
	Status   string `json:"status"`
	Template Num    `json:"template"`
	Pool     string `json:"pool"`
	Lock     string `json:"lock"`
	Tags     string `json:"tags"`
	CPU      Num    `json:"cpu"`
	MaxCPU   Num    `json:"maxcpu"`
	Mem      Num    `json:"mem"`
	MaxMem   Num    `json:"maxmem"`
	Disk     Num    `json:"disk"`
	MaxDisk  Num    `json:"maxdisk"`
	Uptime   Num    `json:"uptime"`
}

// Containers returns every LXC container id may see across the cluster, from
// one call to GET /cluster/resources?type=vm (which also lists QEMU guests,
// filtered out here), sorted by VMID. PVE filters the list by VM.Audit.
func (c *Client) Containers(ctx context.Context, id lxc.Identity) ([]lxc.Container, error) {
	var raw []resource
	q := url.Values{"type": {"vm"}}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/cluster/resources", query: q, id: &id}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Container, 0, len(raw))
	for _, r := range raw {
		if r.Type != "lxc" {
			continue
		}
		out = append(out, lxc.Container{
			VMID:     int(r.VMID.Int()),
			Name:     r.Name,
			Node:     r.Node,
			Status:   r.Status,
			Template: r.Template.Bool(),
			Pool:     r.Pool,
			Lock:     r.Lock,
			Tags:     lxc.SplitTags(r.Tags),
			CPU:      float64(r.CPU),
			MaxCPU:   float64(r.MaxCPU),
			Mem:      r.Mem.Int(),
			MaxMem:   r.MaxMem.Int(),
			Disk:     r.Disk.Int(),
			MaxDisk:  r.MaxDisk.Int(),
			Uptime:   time.Duration(r.Uptime.Int()) * time.Second,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out, nil
}

// ContainerStatus returns GET /nodes/{node}/lxc/{vmid}/status/current: the
// state right now, fresher than the cluster overview after an action.
func (c *Client) ContainerStatus(ctx context.Context, id lxc.Identity, node string, vmid int) (lxc.Container, error) {
	var r struct {
		resource
		Cpus    Num `json:"cpus"`
		Swap    Num `json:"swap"`
		MaxSwap Num `json:"maxswap"`
		NetIn   Num `json:"netin"`
		NetOut  Num `json:"netout"`
		HA      struct {
			Managed Num    `json:"managed"`
			State   string `json:"state"`
		} `json:"ha"`
	}
	path := fmt.Sprintf("/nodes/%s/lxc/%d/status/current", url.PathEscape(node), vmid)
	if err := c.do(ctx, request{method: http.MethodGet, path: path, route: "/nodes/{node}/lxc/{vmid}/status/current", id: &id}, &r); err != nil {
		return lxc.Container{}, err
	}
	return lxc.Container{
		VMID: vmid, Name: r.Name, Node: node, Status: r.Status, Template: r.Template.Bool(),
		Lock: r.Lock, Tags: lxc.SplitTags(r.Tags), CPU: float64(r.CPU), MaxCPU: float64(r.Cpus),
		Mem: r.Mem.Int(), MaxMem: r.MaxMem.Int(), Disk: r.Disk.Int(), MaxDisk: r.MaxDisk.Int(),
		Uptime: time.Duration(r.Uptime.Int()) * time.Second,
		Swap:   r.Swap.Int(), MaxSwap: r.MaxSwap.Int(), NetIn: r.NetIn.Int(), NetOut: r.NetOut.Int(),
		HAState: haState(r.HA.Managed.Bool(), r.HA.State),
	}, nil
}

// haState is the HA state shown for a container: "" when HA does not manage
// it.
func haState(managed bool, state string) string {
	if !managed {
		return ""
	}
	if state == "" {
		return "managed"
	}
	return state
}

// Act runs a lifecycle action and returns the UPID of PVE's task. PVE
// answers at once; the outcome is in the task (see Task). This call is
// never retried: a second start could race the first.
func (c *Client) Act(ctx context.Context, id lxc.Identity, node string, vmid int, action lxc.Action, opts lxc.ActionOptions) (string, error) {
	form := url.Values{}
	switch action {
	case lxc.ActionStart, lxc.ActionStop:
	case lxc.ActionShutdown:
		if opts.Timeout > 0 {
			form.Set("timeout", strconv.Itoa(int(opts.Timeout/time.Second)))
		}
		if opts.Force {
			form.Set("forceStop", "1")
		}
	case lxc.ActionReboot:
		if opts.Timeout > 0 {
			form.Set("timeout", strconv.Itoa(int(opts.Timeout/time.Second)))
		}
	default:
		return "", &Error{Op: "act", Kind: lxc.EInvalid, Err: fmt.Errorf("unknown action %q", action)}
	}
	path := fmt.Sprintf("/nodes/%s/lxc/%d/status/%s", url.PathEscape(node), vmid, action)
	var upid string
	if err := c.do(ctx, request{method: http.MethodPost, path: path, route: "/nodes/{node}/lxc/{vmid}/status/" + string(action), form: form, id: &id}, &upid); err != nil {
		return "", err
	}
	return upid, nil
}

// Task returns the state of a task (GET /nodes/{node}/tasks/{upid}/status).
func (c *Client) Task(ctx context.Context, id lxc.Identity, node, upid string) (lxc.Task, error) {
	var r struct {
		UPID       string `json:"upid"`
		Node       string `json:"node"`
		Type       string `json:"type"`
		ID         string `json:"id"`
		User       string `json:"user"`
		StartTime  Num    `json:"starttime"`
		Status     string `json:"status"`
		ExitStatus string `json:"exitstatus"`
	}
	path := fmt.Sprintf("/nodes/%s/tasks/%s/status", url.PathEscape(node), url.PathEscape(upid))
	if err := c.do(ctx, request{method: http.MethodGet, path: path, route: "/nodes/{node}/tasks/{upid}/status", id: &id}, &r); err != nil {
		return lxc.Task{}, err
	}
	return lxc.Task{
		UPID: r.UPID, Node: r.Node, Type: r.Type, ID: r.ID, User: r.User,
		StartTime: time.Unix(r.StartTime.Int(), 0), Running: r.Status == "running", ExitStatus: r.ExitStatus,
	}, nil
}

// TaskLog returns up to limit lines of a task's log from line start (0-based).
func (c *Client) TaskLog(ctx context.Context, id lxc.Identity, node, upid string, start, limit int) ([]string, error) {
	var r []struct {
		N Num    `json:"n"`
		T string `json:"t"`
	}
	q := url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(limit)}}
	path := fmt.Sprintf("/nodes/%s/tasks/%s/log", url.PathEscape(node), url.PathEscape(upid))
	if err := c.do(ctx, request{method: http.MethodGet, path: path, route: "/nodes/{node}/tasks/{upid}/log", query: q, id: &id}, &r); err != nil {
		return nil, err
	}
	lines := make([]string, len(r))
	for i, l := range r {
		lines[i] = l.T
	}
	return lines, nil
}

// Permissions returns the user's effective privileges per path
// (GET /access/permissions), for showing only the actions PVE will allow.
// With path set, only that path is reported (a much smaller answer on large
// clusters); with "", every path that matters.
func (c *Client) Permissions(ctx context.Context, id lxc.Identity, path string) (lxc.Permissions, error) {
	var raw map[string]map[string]Num
	var q url.Values
	if path != "" {
		q = url.Values{"path": {path}}
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/access/permissions", query: q, id: &id}, &raw); err != nil {
		return nil, err
	}
	p := make(lxc.Permissions, len(raw))
	for path, privs := range raw {
		m := make(map[string]bool, len(privs))
		for priv, prop := range privs {
			m[priv] = prop.Bool()
		}
		p[path] = m
	}
	return p, nil
}
