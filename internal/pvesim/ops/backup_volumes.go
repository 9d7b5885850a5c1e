package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Backup archives as storage content (pve-storage API2/Storage/Content.pm
// index, delete, updateattributes; Storage.pm check_volume_access,
// update_volume_attribute, vdisk_free).

// RealVolumeID is Content.pm's real_volume_id: the volid from the
// storage in the path and the volume ("<sid>:<name>" or the name alone).
func RealVolumeID(sid, volume string) (volid, storage string, err error) {
	if strings.Contains(volume, ":") {
		vsid, _, _ := strings.Cut(volume, ":")
		if !state.StorageIDRe.MatchString(vsid) {
			return "", "", state.ParamErr("volume", fmt.Sprintf("unable to parse volume ID '%s'", volume))
		}
		if sid != "" && vsid != sid {
			return "", "", state.ParamErr("volume", fmt.Sprintf("storage ID mismatch (%s != %s)", vsid, sid))
		}
		return volume, vsid, nil
	}
	if sid == "" {
		return "", "", state.ParamErr("volume", "no storage specified")
	}
	return sid + ":" + volume, sid, nil
}

// backupOwner is parse_volname for a backup volume: the owner, or ok
// false for a name that is no backup of a guest.
func backupOwner(volid string) (vmid int, ok bool) {
	_, name, _ := strings.Cut(volid, ":")
	file, found := strings.CutPrefix(name, "backup/")
	if !found {
		return 0, false
	}
	_, vmid, _, _, ok = state.ParseBackupName(file)
	return vmid, ok
}

// backupAccess is check_volume_access for a backup: Datastore.Allocate
// on the storage opens everything; otherwise the owner (when vmid is
// it), or Datastore.AllocateSpace there and VM.Backup on the owner.
func (o *Ops) backupAccess(user string, vmid int, volid string) error {
	sid, _, _ := strings.Cut(volid, ":")
	if o.ACL.Can(user, "/storage/"+sid, "Datastore.Allocate") {
		return nil
	}
	owner, ok := backupOwner(volid)
	switch {
	case !ok:
		return state.Dief("missing privileges to access %s\n", volid)
	case vmid != 0 && owner == vmid:
		return nil
	}
	if err := o.ACL.Check(user, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
		return err
	}
	return o.ACL.Check(user, "/vms/"+strconv.Itoa(owner), "VM.Backup")
}

// archiveAt finds the archive volid on storage sid as node n sees it.
func (o *Ops) archiveAt(sid string, n *state.Node, volid string) (*state.Volume, state.Storage, bool) {
	st, ok := o.storage(sid)
	if !ok {
		return nil, st, false
	}
	a, ok := o.Cluster.StoredVolume(sid, n, volid)
	return a, st, ok && a.Content == "backup"
}

// DeleteBackup is DELETE .../content/{volume} for a backup: the
// privileges are checked at once; the removal is an "imgdel" task, which
// a protected backup makes fail.
func (o *Ops) DeleteBackup(c Caller, sid, volume string) (string, error) {
	volid, sid, err := RealVolumeID(sid, volume)
	if err != nil {
		return "", err
	}
	st, ok := o.storage(sid)
	if !ok {
		return "", state.Dief("storage '%s' does not exist\n", sid)
	}
	owner, isBackup := backupOwner(volid)
	if isBackup {
		if err := o.ACL.Check(c.User, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return "", err
		}
		if err := o.ACL.Check(c.User, "/vms/"+strconv.Itoa(owner), "VM.Backup"); err != nil {
			return "", err
		}
	} else if err := o.ACL.Check(c.User, "/storage/"+sid, "Datastore.Allocate"); err != nil {
		return "", err
	}
	id := sid
	if isBackup {
		id = strconv.Itoa(owner) + "@" + sid
	}
	e := o.Tasks
	now := o.Now()
	t := e.Start(c.Node, "imgdel", id, c.User, now)
	_, name, _ := strings.Cut(volid, ":")
	e.Schedule(t, now.Add(e.Dur(150*time.Millisecond)), func(at time.Time) {
		a, ok := o.Cluster.StoredVolume(sid, t.Node, volid)
		switch {
		case !isBackup:
			e.Finish(t, at, fmt.Sprintf("unable to parse directory volume name '%s'", name))
		case ok && a.Protected:
			e.Finish(t, at, fmt.Sprintf("cannot remove protected volume '%s' on '%s'", name, sid))
		default:
			if !ok {
				t.Log(at, fmt.Sprintf("disk image '%s/%s' does not exist", dumpDir(st), strings.TrimPrefix(name, "backup/")))
			}
			o.Cluster.RemoveVolume(sid, t.Node, volid)
			t.Log(at, fmt.Sprintf("Removed volume '%s'", volid))
			e.Finish(t, at, "OK")
		}
	})
	return t.UPID, nil
}

// UpdateBackup is PUT .../content/{volume}: new notes ("" removes them)
// and protection, synchronously.
func (o *Ops) UpdateBackup(c Caller, sid, volume string, notes *string, protected *bool) error {
	volid, sid, err := RealVolumeID(sid, volume)
	if err != nil {
		return err
	}
	if _, ok := o.storage(sid); !ok {
		return state.Dief("storage '%s' does not exist\n", sid)
	}
	if _, ok := backupOwner(volid); !ok {
		_, name, _ := strings.Cut(volid, ":")
		return state.Dief("unable to parse directory volume name '%s'\n", name)
	}
	if err := o.backupAccess(c.User, 0, volid); err != nil {
		return err
	}
	a, st, ok := o.archiveAt(sid, c.Node, volid)
	if !ok {
		return state.Dief("volume '%s' does not exist\n", volid)
	}
	if notes != nil {
		a.Notes = *notes
	}
	if protected != nil {
		if *protected && !a.Protected {
			if err := o.protectedLimit(c.User, st, c.Node, a.VMID); err != nil {
				return err
			}
		}
		a.Protected = *protected
	}
	return nil
}

// ArchiveConfig is the configuration inside backup volid of storage sid
// on node n, for a restore (recover_config).
func (o *Ops) archiveConfig(sid string, n *state.Node, volid string) (*state.Volume, error) {
	a, _, ok := o.archiveAt(sid, n, volid)
	if !ok {
		_, name, _ := strings.Cut(volid, ":")
		return nil, state.Dief("volume '%s' does not exist\n", name)
	}
	return a, nil
}

// SeedBackup puts a finished backup of container g, taken at at, on
// storage sid (scenarios and test controls): its configuration as it is
// now, compression comp, notes and protection.
func (o *Ops) SeedBackup(g *state.Guest, sid string, at time.Time, comp, notes string, protected bool) (string, error) {
	st, ok := o.storage(sid)
	if !ok || !storageHolds(st, "backup") {
		return "", fmt.Errorf("storage %q holds no backups", sid)
	}
	cfg := map[string]string{}
	for k, v := range o.Cluster.ConfOf(g).Values {
		if k != "lock" && k != "parent" {
			cfg[k] = v
		}
	}
	name := state.BackupName(g.VMID, at, comp)
	_, _, t, format, _ := state.ParseBackupName(name)
	used := int64(float64(g.DiskBytes) * (0.12 + 0.3*state.Unit(g.Seed, uint64(7+len("rootfs")))))
	size := int64(float64(used) * (0.38 + 0.04*state.Unit(g.Seed, uint64(at.Unix()))))
	a := state.Volume{VolID: sid + ":backup/" + name, Content: "backup", VMID: g.VMID, Subtype: "lxc", Format: format,
		Size: size, CTime: t.Unix(), Notes: notes, Protected: protected, Config: cfg}
	o.Cluster.PutVolume(st.ID, g.Node, a)
	return a.VolID, nil
}
