package state

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Backup archives: the files vzdump leaves in a storage's dump directory
// (vzdump-lxc-<vmid>-<YYYY_MM_DD-HH_MM_SS>.tar[.zst|.gz|.lzo]) with their
// side files: the notes (<archive>.notes), the protection marker
// (<archive>.protected) and the log. An archive is a stored volume of
// content "backup" (volumes.go) whose Config is the container's
// configuration as it was (etc/vzdump/pct.conf), with the sizes of its
// volumes.

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
