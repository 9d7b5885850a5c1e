package ops

import (
	"sort"
	"strconv"
	"strings"
)

// A container's volumes and what their storages can do with them
// (pve-container LXC/Config.pm foreach_volume, has_feature; pve-storage
// Storage.pm volume_has_feature and each plugin's feature table).

// volumeRef is one rootfs or mpN entry of a configuration section.
type volumeRef struct {
	Key    string // "rootfs", "mp0", ...
	Volume string // "local-lvm:vm-101-disk-0", or a host path for bind and device mounts
	Backup bool   // included in backups (rootfs always; mpN with backup=1)
}

// Storage returns the storage id of a volume ("" for a host path).
func (m volumeRef) Storage() string {
	if mountType(m.Volume) != "volume" {
		return ""
	}
	sid, _, _ := strings.Cut(m.Volume, ":")
	return sid
}

// Name is the volume name without the storage ("vm-101-disk-0").
func (m volumeRef) Name() string {
	_, name, _ := strings.Cut(m.Volume, ":")
	return name
}

// volumesOf lists the mount points of a configuration section, rootfs
// first and then mp0, mp1, ... (valid_volume_keys' order).
func volumesOf(values map[string]string) []volumeRef {
	var out []volumeRef
	if p, ok := mountPoint("rootfs", values["rootfs"]); ok && values["rootfs"] != "" {
		out = append(out, volumeRef{Key: "rootfs", Volume: p["volume"], Backup: true})
	}
	var mps []int
	for k := range values {
		if n, ok := strings.CutPrefix(k, "mp"); ok {
			if i, err := strconv.Atoi(n); err == nil && strconv.Itoa(i) == n {
				mps = append(mps, i)
			}
		}
	}
	sort.Ints(mps)
	for _, i := range mps {
		key := "mp" + strconv.Itoa(i)
		if p, ok := mountPoint(key, values[key]); ok {
			out = append(out, volumeRef{Key: key, Volume: p["volume"], Backup: p["backup"] == "1"})
		}
	}
	return out
}

// storageFeatures is, per storage type, which container volumes (raw or
// subvol, never qcow2) allow a feature: "current" for a volume in use,
// "snap" for one of its snapshots, "base" for a template's volume. Types
// not listed allow nothing. Sources: LvmThinPlugin, ZFSPoolPlugin,
// RBDPlugin, LVMPlugin volume_has_feature; Plugin.pm (dir, nfs, cifs)
// allows snapshots for qcow2 only.
var storageFeatures = map[string]map[string][]string{
	"lvmthin": {"snapshot": {"current"}, "clone": {"base", "snap"}, "copy": {"base", "current", "snap"}},
	"zfspool": {"snapshot": {"current", "snap"}, "clone": {"base"}, "copy": {"base", "current"}},
	"rbd":     {"snapshot": {"current", "snap"}, "clone": {"base", "snap"}, "copy": {"base", "current", "snap"}},
	"lvm":     {"copy": {"base", "current"}},
	"dir":     {"clone": {"base"}, "copy": {"base", "current"}},
	"nfs":     {"clone": {"base"}, "copy": {"base", "current"}},
	"cifs":    {"clone": {"base"}, "copy": {"base", "current"}},
}

// storageType is the type of storage sid ("" when it is not configured).
func (o *Ops) storageType(sid string) string {
	for _, st := range o.Cluster.Storages {
		if st.ID == sid {
			return st.Type
		}
	}
	return ""
}

// volumeHasFeature is PVE::Storage::volume_has_feature for one mount
// point: host paths (bind and device mounts) have no features.
func (o *Ops) volumeHasFeature(feature string, m volumeRef, snap bool) bool {
	sid := m.Storage()
	if sid == "" {
		return false
	}
	key := "current"
	switch {
	case snap:
		key = "snap"
	case strings.HasPrefix(m.Name(), "base-") || strings.Contains(m.Name(), "/base-"):
		key = "base"
	}
	for _, k := range storageFeatures[o.storageType(sid)][feature] {
		if k == key {
			return true
		}
	}
	return false
}

// hasFeature is LXC::Config->has_feature: every mount point of values
// must allow feature; with backupOnly only those included in backups
// count (the "vzdump" snapshot).
func (o *Ops) hasFeature(feature string, values map[string]string, snap, backupOnly bool) bool {
	for _, m := range volumesOf(values) {
		if backupOnly && !m.Backup {
			continue
		}
		if !o.volumeHasFeature(feature, m, snap) {
			return false
		}
	}
	return true
}
