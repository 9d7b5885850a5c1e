package state

import (
	"sort"
	"strings"
)

// Storages: the storage.cfg entries every node has, what they hold and
// how full they are. local (a directory: templates, ISO images, backups)
// and local-lvm (an LVM thin pool for guest disks) exist on each node; a
// shared NFS export is the same on every node. Usage follows the volumes:
// a directory or NFS storage counts every byte of its files and disks, a
// thin pool what its thin volumes have written (a third of their size).

// Supports reports whether st may hold content type ct.
func (st *Storage) Supports(ct string) bool {
	for _, c := range strings.Split(st.Content, ",") {
		if c == ct {
			return true
		}
	}
	return false
}

// Path is the storage's mount point, for file-based storages.
func (st *Storage) Path() string {
	switch st.Type {
	case "dir":
		if st.ID == "local" {
			return "/var/lib/vz"
		}
		return "/srv/" + st.ID
	case "nfs", "cifs":
		return "/mnt/pve/" + st.ID
	}
	return ""
}

// VolumePath is the file a file volume (or a directory storage's disk)
// names: "/var/lib/vz/template/cache/<file>" for a template.
func (st *Storage) VolumePath(volname string) string {
	dir, file, _ := strings.Cut(volname, "/")
	switch dir {
	case "vztmpl":
		return st.Path() + "/template/cache/" + file
	case "iso":
		return st.Path() + "/template/iso/" + file
	case "backup":
		return st.Path() + "/dump/" + file
	}
	if st.Path() != "" {
		return st.Path() + "/images/" + volname
	}
	return "/dev/pve/" + volname
}

// StorageByID returns the storage called id, or nil.
func (c *Cluster) StorageByID(id string) *Storage {
	for i := range c.Storages {
		if c.Storages[i].ID == id {
			return &c.Storages[i]
		}
	}
	return nil
}

// Fixed sizes of the simulated storages.
const (
	nfsTotal   = 8 << 40
	nfsBase    = 1536 << 30 // what other systems keep on the export
	thinBase   = 12 << 30   // the pool's metadata and PVE's own volumes
	thinWrites = 3          // a thin volume has written 1/thinWrites of its size
)

// StorageTotal is the capacity of storage st as node n sees it.
func (c *Cluster) StorageTotal(st *Storage, n *Node) int64 {
	switch st.Type {
	case "lvmthin":
		return int64(n.Index%3+3) * 512 * GiB
	case "nfs":
		return nfsTotal
	}
	return n.MaxDisk
}

// StorageUsage returns the bytes used on every storage of every node in
// one pass over the guests: "<sid>@<node>", or "<sid>@" for a shared one.
func (c *Cluster) StorageUsage() map[string]int64 {
	used := map[string]int64{}
	for i := range c.Storages {
		st := &c.Storages[i]
		switch {
		case st.Shared:
			used[st.ID+"@"] = nfsBase
		default:
			for _, n := range c.Nodes {
				switch st.Type {
				case "lvmthin":
					used[st.ID+"@"+n.Name] = thinBase
				case "dir":
					used[st.ID+"@"+n.Name] = n.Disk
				}
			}
		}
	}
	add := func(sid string, n *Node, size int64) {
		st := c.StorageByID(sid)
		if st == nil {
			return
		}
		if st.Type == "lvmthin" {
			size /= thinWrites
		}
		used[st.ID+"@"+location(st, n)] += size
	}
	for _, g := range c.Order {
		for _, d := range c.GuestDisks(g) {
			sid, _, _ := SplitVolID(d.VolID)
			add(sid, g.Node, d.Size)
		}
	}
	for k, v := range c.vols {
		loc, _, _ := strings.Cut(k, "\x00")
		sid, _, _ := SplitVolID(v.VolID)
		add(sid, c.NodeByName(loc), v.Size)
	}
	return used
}

// StorageUsed is the usage of storage st on node n (see StorageUsage).
func (c *Cluster) StorageUsed(usage map[string]int64, st *Storage, n *Node) int64 {
	return usage[st.ID+"@"+location(st, n)]
}

// ListVolumes returns the volumes of storage sid as node n sees them
// (stored volumes and guest disks), filtered by content type ("" for all)
// and owner (0 for all), sorted by volid. Templates and ISO images are
// left out when an owner is asked for, as PVE does.
func (c *Cluster) ListVolumes(sid string, n *Node, content string, vmid int) []Volume {
	st := c.StorageByID(sid)
	if st == nil {
		return nil
	}
	loc := location(st, n)
	var out []Volume
	for k, v := range c.vols {
		if l, _, _ := strings.Cut(k, "\x00"); l != loc || !strings.HasPrefix(v.VolID, sid+":") {
			continue
		}
		if vmid != 0 && (v.VMID != vmid || v.Content == "vztmpl" || v.Content == "iso") {
			continue
		}
		out = append(out, *v)
	}
	for _, g := range c.Order {
		if content != "" && content != "rootdir" && content != "images" {
			break // guest disks are of these two content types only
		}
		if !st.Shared && g.Node != n {
			continue
		}
		if vmid != 0 && g.VMID != vmid {
			continue
		}
		for _, d := range c.GuestDisks(g) {
			if strings.HasPrefix(d.VolID, sid+":") {
				out = append(out, d.Volume)
			}
		}
	}
	kept := out[:0]
	for _, v := range out {
		if (content == "" || v.Content == content) && st.Supports(v.Content) {
			kept = append(kept, v)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].VolID < kept[j].VolID })
	return kept
}
