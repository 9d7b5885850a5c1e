package state

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Backup archives: the files vzdump leaves in a storage's dump directory
// (vzdump-lxc-<vmid>-<YYYY_MM_DD-HH_MM_SS>.tar[.zst|.gz|.lzo]) with their
// side files: the notes (<archive>.notes), the protection marker
// (<archive>.protected) and the log. An archive holds the container's
// configuration as it was (etc/vzdump/pct.conf) and, for the simulator,
// the sizes of its volumes.
//
// Interim: this store exists until the storage model of the create branch
// (state.Volume, Cluster.PutVolume and friends) is merged; an archive is
// then a stored volume of content "backup" plus its Config and Subtype.

// Archive is one backup file.
type Archive struct {
	VolID     string // "local:backup/vzdump-lxc-101-2026_03_01-12_00_00.tar.zst"
	VMID      int
	Subtype   string // "lxc"
	Format    string // "tar.zst", "tar.gz", "tar.lzo", "tar"
	Size      int64
	CTime     int64 // from the name's time stamp
	Notes     string
	Protected bool
	// Config is the container's configuration in the archive: no lock,
	// snapshots, parent or pending changes.
	Config map[string]string
}

// BackupName is vzdump's archive name for a container backed up at t
// (node local time; the simulator's nodes run on UTC) with compression
// comp ("0" or "" for none, "1" or "lzo", "gzip", "zstd").
func BackupName(vmid int, t time.Time, comp string) string {
	ext := ".tar"
	switch comp {
	case "1", "lzo":
		ext += ".lzo"
	case "gzip":
		ext += ".gz"
	case "zstd":
		ext += ".zst"
	}
	return fmt.Sprintf("vzdump-lxc-%d-%s%s", vmid, t.UTC().Format("2006_01_02-15_04_05"), ext)
}

// backupNameRe is the archive names PVE lists as backups of a guest.
var backupNameRe = regexp.MustCompile(`^vzdump-(lxc|qemu|openvz)-(\d+)-(\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2})\.(tar(?:\.(?:zst|gz|lzo))?|vma(?:\.(?:zst|gz|lzo))?)$`)

// ParseBackupName reads the owner, the time and the format from an
// archive's file name.
func ParseBackupName(name string) (subtype string, vmid int, t time.Time, format string, ok bool) {
	m := backupNameRe.FindStringSubmatch(name)
	if m == nil {
		return "", 0, time.Time{}, "", false
	}
	vmid, _ = strconv.Atoi(m[2])
	t, err := time.ParseInLocation("2006_01_02-15_04_05", m[3], time.UTC)
	if err != nil {
		return "", 0, time.Time{}, "", false
	}
	return m[1], vmid, t, m[4], true
}

// ArchiveStore holds the archives of every backup storage: a shared
// storage's once, a node-local storage's per node.
type ArchiveStore struct {
	byKey map[string]*Archive
}

// NewArchiveStore is an empty store.
func NewArchiveStore() *ArchiveStore { return &ArchiveStore{byKey: map[string]*Archive{}} }

// archiveKey is where an archive lives: the node ("" for a shared
// storage) and the volid.
func archiveKey(loc, volid string) string { return loc + "\x00" + volid }

// Location is where volumes of storage st live as node n sees them: the
// node's name, or "" for a shared storage.
func Location(st Storage, n *Node) string {
	if st.Shared || n == nil {
		return ""
	}
	return n.Name
}

// Put stores a (a copy of it) at loc.
func (s *ArchiveStore) Put(loc string, a Archive) {
	cp := a
	s.byKey[archiveKey(loc, a.VolID)] = &cp
}

// Get returns the archive volid at loc.
func (s *ArchiveStore) Get(loc, volid string) (*Archive, bool) {
	a, ok := s.byKey[archiveKey(loc, volid)]
	return a, ok
}

// Remove deletes the archive volid at loc; it reports whether it existed.
func (s *ArchiveStore) Remove(loc, volid string) bool {
	k := archiveKey(loc, volid)
	_, ok := s.byKey[k]
	delete(s.byKey, k)
	return ok
}

// List returns the archives of storage sid at loc, of owner vmid (0 for
// all), sorted by volid as PVE lists them.
func (s *ArchiveStore) List(loc, sid string, vmid int) []*Archive {
	var out []*Archive
	prefix := sid + ":"
	for k, a := range s.byKey {
		if l, _, _ := strings.Cut(k, "\x00"); l != loc || !strings.HasPrefix(a.VolID, prefix) {
			continue
		}
		if vmid != 0 && a.VMID != vmid {
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VolID < out[j].VolID })
	return out
}

// Len is the number of archives held.
func (s *ArchiveStore) Len() int { return len(s.byKey) }
