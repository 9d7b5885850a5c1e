package lxc

import (
	"strings"
	"time"
)

// Backup is one backup archive of a guest as a storage lists it (GET
// /nodes/{node}/storage/{storage}/content?content=backup).
type Backup struct {
	VolID     string // "local:backup/vzdump-lxc-101-2026_03_01-12_00_00.tar.zst"
	Storage   string
	Node      string // the node whose view of the storage listed it
	VMID      int
	Time      time.Time // when it was taken (PVE's ctime, from the name)
	Size      int64
	Format    string // "tar.zst", "tar.gz", ...
	Notes     string // the first line only, as PVE lists it
	Protected bool
	// Verified is PBS's verification state ("ok", "failed"); "" when
	// the storage does not verify backups.
	Verified string
}

// File is the archive's file name ("vzdump-lxc-101-...tar.zst").
func (b Backup) File() string {
	name := b.VolID
	if i := strings.LastIndexAny(name, "/:"); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// StorageEntry is one storage as /cluster/resources?type=storage lists
// it: one entry per node where it is enabled (a shared storage on every
// node). PVE lists only storages the user may audit.
type StorageEntry struct {
	Storage string
	Node    string
	Type    string // plugin type: dir, lvmthin, nfs, pbs, ...
	Content []string
	Shared  bool
	Status  string // "available" or "unknown"
	Total   int64
	Used    int64
}

// Holds reports whether the storage takes content type ct ("backup").
func (s StorageEntry) Holds(ct string) bool {
	for _, c := range s.Content {
		if c == ct {
			return true
		}
	}
	return false
}

// BackupOptions are what "Back up now" sends (POST /nodes/{node}/vzdump).
type BackupOptions struct {
	Storage  string
	Mode     string // snapshot, suspend, stop
	Compress string // zstd, gzip, lzo, or "0" for none
	// Notes become the backup's notes (PVE's notes template: {{guestname}},
	// {{node}}, {{vmid}} and {{cluster}} are filled in).
	Notes     string
	Protected bool
}

// RestoreOptions are what a restore sends (POST /nodes/{node}/lxc with
// restore=1).
type RestoreOptions struct {
	VMID    int    // the container to restore to: the backup's own, or a new one
	Archive string // the backup's volid
	Storage string // where the volumes are created
	Force   bool   // overwrite the existing (stopped) container
	Pool    string // the pool a new container joins ("" for none)
	Start   bool
	Unique  bool // new MAC addresses
}
