package ops

import (
	"fmt"
	"strings"
	"time"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Growing a mount point (pve-container API2/LXC.pm resize_vm): the checks
// run before the task is forked, and again inside it under the config
// lock; the task grows the volume and the file system.

// resizePlan is what load_and_check found.
type resizePlan struct {
	g       *state.Guest
	mp      map[string]string
	oldSize int64
	newSize int64
}

// Resize is PUT .../resize: size is "+N[KMGT]" (grow by) or "N[KMGT]"
// (the new size; bytes without a unit). It answers the UPID of a
// "resize" task.
func (o *Ops) Resize(c Caller, vmid, disk, size, digest string) (string, error) {
	sizestr, ext := strings.CutPrefix(size, "+")
	req, ok := js.ParseSize(sizestr)
	if !ok {
		return "", state.Dief("invalid size string at /usr/share/perl5/PVE/API2/LXC.pm line 2362.\n")
	}
	check := func() (resizePlan, error) { return o.resizeCheck(c, vmid, disk, digest, req, ext) }
	if _, err := check(); err != nil {
		return "", err
	}
	e := o.Tasks
	now := o.Now()
	t := e.Start(c.Node, "resize", vmid, c.User, now)
	e.WithConfigLock(t, now, func(at time.Time) {
		p, err := check()
		if err != nil {
			e.Fail(t, at, strings.TrimSuffix(err.Error(), "\n"))
			return
		}
		for i, line := range resizeLog(p) {
			t.Log(at.Add(time.Duration(i+1)*e.Dur(50*time.Millisecond)), line)
		}
		e.Succeed(t, at, e.Dur(resizeDuration(p)), func(time.Time) {
			p.mp["size"] = js.FormatSize(p.newSize)
			f := state.MountPointFormat
			if disk == "rootfs" {
				f = state.RootfsFormat
			}
			next := o.Cluster.ConfOf(p.g).Clone()
			next.Values[disk] = js.PrintPropertyString(f, p.mp)
			o.Cluster.WriteConf(p.g, next)
		})
	})
	return t.UPID, nil
}

// resizeCheck is load_and_check.
func (o *Ops) resizeCheck(c Caller, vmid, disk, digest string, req int64, ext bool) (resizePlan, error) {
	g, err := o.LoadCT(c, vmid)
	if err != nil {
		return resizePlan{}, err
	}
	if err := checkLock(g); err != nil {
		return resizePlan{}, err
	}
	conf := o.Cluster.ConfOf(g)
	// check_ct_modify_config_perm with { disk => ... }: "disk" is no
	// option, so it needs VM.Config.Options.
	if err := o.checkModifyPerm(c.User, g, conf.Values, map[string]string{"disk": disk}, nil, false); err != nil {
		return resizePlan{}, err
	}
	if digest != "" && digest != conf.Digest() {
		return resizePlan{}, state.Dief("detected modified configuration - file changed by other user? Try again.\n")
	}
	f := state.MountPointFormat
	if disk == "rootfs" {
		f = state.RootfsFormat
	}
	mp, err := js.ParsePropertyString(f, conf.Values[disk], "", js.Base())
	if err != nil {
		return resizePlan{}, state.Dief("%s", err.Error())
	}
	volid := mp["volume"]
	sid, _, _ := strings.Cut(volid, ":")
	if err := o.ACL.Check(c.User, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
		return resizePlan{}, err
	}
	size, ok := js.ParseSize(mp["size"])
	if !ok || size == 0 {
		size = g.DiskBytes
	}
	newSize := req
	if ext {
		newSize = size + req
	}
	if newSize < size {
		return resizePlan{}, state.Dief("unable to shrink disk size\n")
	}
	if newSize == size {
		return resizePlan{}, state.Dief("disk is already at specified size\n")
	}
	return resizePlan{g: g, mp: mp, oldSize: size, newSize: newSize}, nil
}

// resizeDuration is how long lvextend and resize2fs take.
func resizeDuration(p resizePlan) time.Duration {
	return 800*time.Millisecond + time.Duration(p.g.VMID%5)*100*time.Millisecond
}

// resizeLog is the output of lvextend and of resize2fs (online while the
// container runs, after e2fsck while it is stopped), for local-lvm.
func resizeLog(p resizePlan) []string {
	vol := p.mp["volume"]
	_, name, _ := strings.Cut(vol, ":")
	lv := "pve/" + name
	dev := "/dev/" + lv
	gib := func(b int64) string { return fmt.Sprintf("%.2f GiB", float64(b)/float64(state.GiB)) }
	extents := func(b int64) int64 { return b / (4 << 20) }
	blocks := p.newSize / 4096
	out := []string{
		fmt.Sprintf("  Size of logical volume %s changed from %s (%d extents) to %s (%d extents).",
			lv, gib(p.oldSize), extents(p.oldSize), gib(p.newSize), extents(p.newSize)),
		fmt.Sprintf("  Logical volume %s successfully resized.", lv),
	}
	if p.g.Cur.Running {
		return append(out,
			"resize2fs 1.47.2 (1-Jan-2025)",
			fmt.Sprintf("Filesystem at %s is mounted on /tmp; on-line resizing required", dev),
			fmt.Sprintf("old_desc_blocks = %d, new_desc_blocks = %d", descBlocks(p.oldSize), descBlocks(p.newSize)),
			fmt.Sprintf("The filesystem on %s is now %d (4k) blocks long.", dev, blocks),
			"")
	}
	inodes := p.oldSize / 16384
	return append(out,
		"e2fsck 1.47.2 (1-Jan-2025)",
		"Pass 1: Checking inodes, blocks, and sizes",
		"Pass 2: Checking directory structure",
		"Pass 3: Checking directory connectivity",
		"Pass 4: Checking reference counts",
		"Pass 5: Checking group summary information",
		fmt.Sprintf("%s: %d/%d files (0.1%% non-contiguous), %d/%d blocks", dev, inodes/20+int64(p.g.VMID%997),
			inodes, p.oldSize/4096/5, p.oldSize/4096),
		"resize2fs 1.47.2 (1-Jan-2025)",
		fmt.Sprintf("Resizing the filesystem on %s to %d (4k) blocks.", dev, blocks),
		fmt.Sprintf("The filesystem on %s is now %d (4k) blocks long.", dev, blocks),
		"")
}

// descBlocks is the number of ext4 group descriptor blocks for a size.
func descBlocks(size int64) int64 {
	groups := (size/4096 + 32767) / 32768
	return (groups*64 + 4095) / 4096
}
