package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Creating, cloning, converting and deleting containers, and downloading
// templates. Each answers at once (a UPID, or nothing for a conversion);
// none is ever retried: a second create or clone could race the first.

// CreateContainer creates a container on node (POST /nodes/{node}/lxc)
// and returns the UPID of its vzcreate task. unprivileged is always sent:
// PVE's default changed in 9.0. The password travels in the request body
// only; it is never part of an error.
func (c *Client) CreateContainer(ctx context.Context, id lxc.Identity, node string, spec lxc.CreateSpec) (string, error) {
	form := url.Values{
		"vmid":         {strconv.Itoa(spec.VMID)},
		"ostemplate":   {spec.Template},
		"rootfs":       {fmt.Sprintf("%s:%d", spec.RootStorage, spec.RootSizeGiB)},
		"unprivileged": {boolForm(spec.Unprivileged)},
		"net0":         {netSpec(spec.Net)},
	}
	set := func(k, v string) {
		if v != "" {
			form.Set(k, v)
		}
	}
	set("hostname", spec.Hostname)
	set("password", spec.Password)
	set("ssh-public-keys", spec.SSHKeys)
	set("nameserver", spec.Nameserver)
	set("searchdomain", spec.SearchDomain)
	set("pool", spec.Pool)
	set("tags", strings.Join(spec.Tags, ";"))
	if spec.Cores > 0 {
		form.Set("cores", strconv.Itoa(spec.Cores))
	}
	if spec.MemoryMiB > 0 {
		form.Set("memory", strconv.Itoa(spec.MemoryMiB))
	}
	form.Set("swap", strconv.Itoa(spec.SwapMiB))
	if spec.Nesting {
		form.Set("features", "nesting=1")
	}
	if spec.Start {
		form.Set("start", "1")
	}
	var upid string
	path := "/nodes/" + url.PathEscape(node) + "/lxc"
	if err := c.do(ctx, request{method: http.MethodPost, path: path, route: "/nodes/{node}/lxc", form: form, id: &id}, &upid); err != nil {
		return "", err
	}
	return upid, nil
}

// netSpec prints a NetSpec as PVE's net0 property string.
func netSpec(n lxc.NetSpec) string {
	parts := []string{"name=eth0", "bridge=" + n.Bridge}
	if n.Firewall {
		parts = append(parts, "firewall=1")
	}
	if n.Gateway4 != "" {
		parts = append(parts, "gw="+n.Gateway4)
	}
	if n.Gateway6 != "" {
		parts = append(parts, "gw6="+n.Gateway6)
	}
	if n.IPv4 != "" {
		parts = append(parts, "ip="+n.IPv4)
	}
	if n.IPv6 != "" {
		parts = append(parts, "ip6="+n.IPv6)
	}
	if n.VLAN > 0 {
		parts = append(parts, "tag="+strconv.Itoa(n.VLAN))
	}
	return strings.Join(parts, ",")
}

func boolForm(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// CloneContainer copies a container (POST .../clone) and returns the UPID
// of the vzclone task (whose id is the source's VMID).
func (c *Client) CloneContainer(ctx context.Context, id lxc.Identity, node string, vmid int, spec lxc.CloneSpec) (string, error) {
	form := url.Values{"newid": {strconv.Itoa(spec.NewID)}, "full": {boolForm(spec.Full)}}
	if spec.Hostname != "" {
		form.Set("hostname", spec.Hostname)
	}
	if spec.Target != "" && spec.Target != node {
		form.Set("target", spec.Target)
	}
	if spec.Storage != "" && spec.Full {
		form.Set("storage", spec.Storage)
	}
	if spec.Pool != "" {
		form.Set("pool", spec.Pool)
	}
	var upid string
	req := request{method: http.MethodPost, path: ctPath(node, vmid, "/clone"), route: "/nodes/{node}/lxc/{vmid}/clone", form: form, id: &id}
	if err := c.do(ctx, req, &upid); err != nil {
		return "", err
	}
	return upid, nil
}

// ConvertToTemplate turns a stopped container into a template (POST
// .../template). PVE answers null and converts in a vztemplate task of
// its own, found in the node's task list.
func (c *Client) ConvertToTemplate(ctx context.Context, id lxc.Identity, node string, vmid int) error {
	req := request{method: http.MethodPost, path: ctPath(node, vmid, "/template"), route: "/nodes/{node}/lxc/{vmid}/template",
		form: url.Values{}, id: &id}
	return c.do(ctx, req, nil)
}

// DestroyContainer deletes a container and its disks (DELETE
// /nodes/{node}/lxc/{vmid}, flags in the query) and returns the UPID of
// the vzdestroy task.
func (c *Client) DestroyContainer(ctx context.Context, id lxc.Identity, node string, vmid int, opts lxc.DestroyOptions) (string, error) {
	q := url.Values{}
	if opts.Force {
		q.Set("force", "1")
	}
	if opts.Purge {
		q.Set("purge", "1")
	}
	if opts.DestroyUnreferencedDisks {
		q.Set("destroy-unreferenced-disks", "1")
	}
	var upid string
	req := request{method: http.MethodDelete, path: ctPath(node, vmid, ""), route: "/nodes/{node}/lxc/{vmid}", query: q, id: &id}
	if err := c.do(ctx, req, &upid); err != nil {
		return "", err
	}
	return upid, nil
}

// DownloadTemplate fetches an appliance into a storage of node (POST
// /nodes/{node}/aplinfo) and returns the UPID of the download task.
func (c *Client) DownloadTemplate(ctx context.Context, id lxc.Identity, node, storage, template string) (string, error) {
	form := url.Values{"storage": {storage}, "template": {template}}
	var upid string
	path := "/nodes/" + url.PathEscape(node) + "/aplinfo"
	if err := c.do(ctx, request{method: http.MethodPost, path: path, route: "/nodes/{node}/aplinfo", form: form, id: &id}, &upid); err != nil {
		return "", err
	}
	return upid, nil
}
