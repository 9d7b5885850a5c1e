package proxmox

import (
	"context"
	"net/http"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// NextID returns the lowest free VMID (GET /cluster/nextid; PVE sends it
// as a string). It reserves nothing: a restore may still find it taken.
//
// Interim: the create branch has the same method; when both are merged,
// keep one.
func (c *Client) NextID(ctx context.Context, id lxc.Identity) (int, error) {
	var n Num
	if err := c.do(ctx, request{method: http.MethodGet, path: "/cluster/nextid", id: &id}, &n); err != nil {
		return 0, err
	}
	return int(n.Int()), nil
}
