package state

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
)

// Volumes on storages. Two kinds exist:
//
//   - guest disks: every volume a container's configuration names
//     (rootfs, mpN, unusedN) and the disk of a QEMU VM. They are derived
//     from the configurations, so resizing or adding a mount point changes
//     the storage's usage without bookkeeping of its own;
//   - stored volumes: files (templates, ISO images, backups) and disks no
//     configuration references any more. They are kept here, generic:
//     volid, content type, format, size, ctime, owner, notes, protection.
//
// A volume of a storage that is not shared lives on one node.

// Volume is one volume on a storage.
type Volume struct {
	VolID     string // "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"
	Content   string // "vztmpl", "iso", "backup", "images", "rootdir"
	Format    string // "tzst", "raw", "iso", "tar.zst", ...
	Size      int64  // bytes
	CTime     int64  // unix seconds; 0 when the storage does not tell
	VMID      int    // owner; 0 for none
	Notes     string
	Protected bool
	// Parent is the base volume of a linked clone, where the volume name
	// carries it ("" on LVM-thin, whose names do not).
	Parent string
	// Subtype is a backup's guest type ("lxc"); "" for other content.
	Subtype string
	// Config is a backup's container configuration as it was backed up
	// (no lock, snapshots, parent or pending changes); nil for other
	// content.
	Config map[string]string
}

// Storage IDs and volume names (PVE::Storage parse_volume_id and the
// plugins' parse_volname).
var (
	// StorageIDRe is the pve-storage-id format.
	StorageIDRe  = regexp.MustCompile(`^(?i)[a-z][a-z0-9\-_.]*[a-z0-9]$`)
	volIDRe      = regexp.MustCompile(`^(?i)([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$`)
	lvmDiskRe    = regexp.MustCompile(`^(vm|base)-(\d+)-\S+$`)
	dirDiskRe    = regexp.MustCompile(`^(\d+)/(vm|base)-(\d+)-[^/\s]+\.(raw|qcow2|vmdk|subvol)$`)
	dirFileRe    = regexp.MustCompile(`^(vztmpl|iso|backup|snippets|import)/([^/]+)$`)
	backupOwner  = regexp.MustCompile(`^vzdump-(?:lxc|qemu|openvz)-(\d+)-`)
	diskNumberRe = regexp.MustCompile(`-disk-(\d+)`)
	tmplExtRe    = regexp.MustCompile(`\.tar(?:\.(gz|xz|zst|bz2))?$`)
)

// SplitVolID splits "sid:volname"; ok is false for anything else (a path).
func SplitVolID(volid string) (sid, volname string, ok bool) {
	m := volIDRe.FindStringSubmatch(volid)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// VolumeInfo is what parse_volname tells about a volume name on st.
type VolumeInfo struct {
	Content string // "images", "vztmpl", "iso", "backup", ...
	Owner   int    // owning vmid, 0 for none
	Base    bool   // a template's base volume
	Format  string
}

// ParseVolName is the storage plugin's parse_volname; the error is PVE's
// text.
func (st *Storage) ParseVolName(volname string) (VolumeInfo, error) {
	switch st.Type {
	case "lvmthin", "lvm":
		m := lvmDiskRe.FindStringSubmatch(volname)
		if m == nil {
			return VolumeInfo{}, Dief("unable to parse lvm volume name '%s'\n", volname)
		}
		owner, _ := strconv.Atoi(m[2])
		return VolumeInfo{Content: "images", Owner: owner, Base: m[1] == "base", Format: "raw"}, nil
	}
	if m := dirDiskRe.FindStringSubmatch(volname); m != nil {
		owner, _ := strconv.Atoi(m[1])
		return VolumeInfo{Content: "images", Owner: owner, Base: m[2] == "base", Format: m[4]}, nil
	}
	if m := dirFileRe.FindStringSubmatch(volname); m != nil {
		vi := VolumeInfo{Content: m[1], Format: FileFormat(m[1], m[2])}
		if b := backupOwner.FindStringSubmatch(m[2]); b != nil && m[1] == "backup" {
			vi.Owner, _ = strconv.Atoi(b[1])
		}
		return vi, nil
	}
	return VolumeInfo{}, Dief("unable to parse directory volume name '%s'\n", volname)
}

// FileFormat is the format PVE reports for a file volume.
func FileFormat(content, name string) string {
	switch content {
	case "vztmpl":
		if m := tmplExtRe.FindStringSubmatch(name); m != nil {
			if m[1] != "" {
				return "t" + m[1]
			}
			return "tar"
		}
		return "tgz"
	case "iso":
		return "iso"
	case "backup":
		if i := strings.Index(name, ".tar"); i >= 0 {
			return strings.TrimPrefix(name[i:], ".")
		}
	}
	return "raw"
}

// location is where a volume of storage st lives: the node, or "" for a
// shared storage.
func location(st *Storage, n *Node) string {
	if st.Shared || n == nil {
		return ""
	}
	return n.Name
}

func volKey(loc, volid string) string { return loc + "\x00" + volid }

// PutVolume stores v on storage sid (on node n unless it is shared).
func (c *Cluster) PutVolume(sid string, n *Node, v Volume) {
	st := c.StorageByID(sid)
	if st == nil {
		return
	}
	if c.vols == nil {
		c.vols = map[string]*Volume{}
	}
	cp := v
	c.vols[volKey(location(st, n), v.VolID)] = &cp
}

// StoredVolume returns a stored volume (a file or an unreferenced disk).
func (c *Cluster) StoredVolume(sid string, n *Node, volid string) (*Volume, bool) {
	st := c.StorageByID(sid)
	if st == nil {
		return nil, false
	}
	v, ok := c.vols[volKey(location(st, n), volid)]
	return v, ok
}

// RemoveVolume deletes a stored volume; it reports whether it existed.
func (c *Cluster) RemoveVolume(sid string, n *Node, volid string) bool {
	st := c.StorageByID(sid)
	if st == nil {
		return false
	}
	k := volKey(location(st, n), volid)
	_, ok := c.vols[k]
	delete(c.vols, k)
	return ok
}

// GuestDisk is one disk of a guest: the option naming it ("rootfs",
// "mp0", "unused1"; "scsi0" for a VM) and the volume.
type GuestDisk struct {
	Option string
	Volume
}

// GuestDisks returns the volumes guest g's configuration names. A
// container whose file was never built has its rootfs on local-lvm, as
// initialConf writes it; a VM has one disk on local-lvm.
func (c *Cluster) GuestDisks(g *Guest) []GuestDisk {
	content := "rootdir"
	if g.Type == "qemu" {
		content = "images"
	}
	if g.Type != "lxc" || g.conf == nil {
		name := VolumeName(g, 0)
		return []GuestDisk{{Option: map[bool]string{true: "rootfs", false: "scsi0"}[g.Type == "lxc"],
			Volume: Volume{VolID: name, Content: content, Format: "raw", Size: g.DiskBytes, VMID: g.VMID,
				CTime: g.Created.Unix()}}}
	}
	var out []GuestDisk
	for _, k := range sortedOptionKeys(g.conf.Values) {
		v := g.conf.Values[k]
		var volid string
		var size int64
		switch {
		case k == "rootfs" || mountPointKeyRe.MatchString(k):
			f := MountPointFormat
			if k == "rootfs" {
				f = RootfsFormat
			}
			mp, err := js.ParsePropertyString(f, v, "", js.Base())
			if err != nil || strings.HasPrefix(mp["volume"], "/") {
				continue // a bind or device mount is no volume
			}
			volid = mp["volume"]
			size, _ = js.ParseSize(mp["size"])
		case unusedKeyRe.MatchString(k):
			volid = v
		default:
			continue
		}
		if _, _, ok := SplitVolID(volid); !ok {
			continue
		}
		out = append(out, GuestDisk{Option: k, Volume: Volume{VolID: volid, Content: content, Format: diskFormat(volid),
			Size: size, VMID: g.VMID, CTime: g.Created.Unix()}})
	}
	return out
}

var (
	mountPointKeyRe = regexp.MustCompile(`^mp\d+$`)
	unusedKeyRe     = regexp.MustCompile(`^unused\d+$`)
)

// sortedOptionKeys orders rootfs first, then mount points and unused
// volumes by number.
func sortedOptionKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) (int, int) {
		n, _ := strconv.Atoi(strings.TrimLeft(k, "abcdefghijklmnopqrstuvwxyz"))
		switch {
		case k == "rootfs":
			return 0, 0
		case strings.HasPrefix(k, "mp"):
			return 1, n
		}
		return 2, n
	}
	sort.Slice(keys, func(i, j int) bool {
		a1, a2 := rank(keys[i])
		b1, b2 := rank(keys[j])
		if a1 != b1 {
			return a1 < b1
		}
		if a2 != b2 {
			return a2 < b2
		}
		return keys[i] < keys[j]
	})
	return keys
}

// diskFormat is the format of a disk volume: its file extension, raw for
// block storages.
func diskFormat(volid string) string {
	if i := strings.LastIndexByte(volid, '.'); i > strings.LastIndexByte(volid, '/') && i > 0 {
		return volid[i+1:]
	}
	return "raw"
}

// DiskVolID names disk number disk of vmid on storage st, as
// find_free_diskname and the plugins' alloc_image do ("base-" for a
// template's base volume).
func DiskVolID(st *Storage, vmid, disk int, base bool) string {
	prefix := "vm"
	if base {
		prefix = "base"
	}
	name := fmt.Sprintf("%s-%d-disk-%d", prefix, vmid, disk)
	switch st.Type {
	case "lvmthin", "lvm":
		return st.ID + ":" + name
	}
	return fmt.Sprintf("%s:%d/%s.raw", st.ID, vmid, name)
}

// BaseVolID is the name a volume gets when its container becomes a
// template (create_base renames "vm-" to "base-").
func BaseVolID(volid string) string {
	sid, volname, ok := SplitVolID(volid)
	if !ok {
		return volid
	}
	if i := strings.LastIndexByte(volname, '/'); i >= 0 {
		return sid + ":" + volname[:i+1] + strings.Replace(volname[i+1:], "vm-", "base-", 1)
	}
	return sid + ":" + strings.Replace(volname, "vm-", "base-", 1)
}

// DiskNumber is N of "...-disk-N", or -1.
func DiskNumber(volid string) int {
	m := diskNumberRe.FindStringSubmatch(volid)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
