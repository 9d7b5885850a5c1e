package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// One container's backup inside a vzdump job (PVE/VZDump.pm
// exec_backup_task, pve-container VZDump/LXC.pm): the container is
// locked "backup"; in snapshot mode a temporary snapshot "vzdump" is
// taken (volumes without snapshots fall back to suspend mode); tar writes
// the archive, which then appears in the storage with its notes and
// protection; the lock and the snapshot go again.

// Rates at TaskDurationScale 1.
const (
	tarRate   = 250 << 20 // bytes per second read by tar
	rsyncRate = 400 << 20 // bytes per second rsync copies
)

// bytesTime is how long moving n bytes at rate bytes per second takes.
func bytesTime(n int64, rate float64) time.Duration {
	return time.Duration(float64(n) / rate * float64(time.Second))
}

// seqStep is one step of a guest's backup: it runs when due and returns
// the time until the next step, or false when the backup failed.
type seqStep func(at time.Time) (time.Duration, bool)

// seq runs steps one after another on the task's clock, then done.
func (j *dumpJob) seq(at time.Time, steps []seqStep, done func(time.Time, bool)) {
	if len(steps) == 0 {
		done(at, true)
		return
	}
	j.o.Tasks.Schedule(j.t, at, func(now time.Time) {
		d, ok := steps[0](now)
		if !ok {
			done(now, false)
			return
		}
		j.seq(now.Add(j.o.Tasks.Dur(d)), steps[1:], done)
	})
}

// info logs "INFO: text" at at.
func (j *dumpJob) info(at time.Time, text string) { j.t.Log(at, "INFO: "+text) }

// stamp is strftime("%F %H:%M:%S") in the node's time zone (UTC).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// guestBackup is what one guest's backup carries from step to step.
type guestBackup struct {
	id      string
	g       *state.Guest
	mode    string
	st      state.Storage
	name    string // the archive's file name
	running bool   // the guest ran when the backup began
	stopped time.Time
	snap    bool // the "vzdump" snapshot exists
	locked  bool
	restart bool // stop mode stopped the guest: start it at the end
	start   time.Time
}

// backupGuest backs up guest id from at on; done gets the end and
// whether it succeeded.
func (j *dumpJob) backupGuest(id string, at time.Time, done func(time.Time, bool)) {
	o := j.o
	vmid, _ := strconv.Atoi(id)
	b := &guestBackup{id: id, g: o.Cluster.Guests[vmid], start: at}
	fail := func(at time.Time, err string) {
		j.t.Log(at, "ERROR: Backup of VM "+id+" failed - "+err)
		j.info(at, "Failed at "+stamp(at))
		done(at, false)
	}
	sid := j.req.storageParam()
	b.st, _ = o.storage(sid)
	if b.g == nil || b.g.Node != j.t.Node {
		fail(at, fmt.Sprintf("unable to find VM '%s'", id))
		return
	}
	b.name = state.BackupName(vmid, at, j.req.Compress)
	if j.req.Protected {
		if err := o.protectedLimit(j.t.User, b.st, j.t.Node, vmid); err != nil {
			fail(at, trimDie(err))
			return
		}
	}
	steps := []seqStep{
		func(at time.Time) (time.Duration, bool) {
			j.info(at, fmt.Sprintf("Starting Backup of VM %s (%s)", id, b.g.Type))
			j.info(at, "Backup started at "+stamp(at))
			if b.g.Type != "lxc" {
				fail(at, "backing up QEMU guests is not simulated")
				return 0, false
			}
			b.running = b.g.Cur.Running
			status := "stopped"
			if b.running {
				status = "running"
			}
			j.info(at, "status = "+status)
			if b.g.Lock != "" { // lock_vm: set_lock refuses
				fail(at, trimDie(checkLock(b.g)))
				return 0, false
			}
			o.Cluster.SetOption(b.g, "lock", "backup")
			b.locked = true
			b.mode = j.req.Mode
			if !b.running {
				b.mode = "stop"
			}
			values := o.Cluster.ConfOf(b.g).Values
			if b.mode == "snapshot" {
				j.prepareLog(at, values)
				if !o.hasFeature("snapshot", values, false, true) {
					j.info(at, "mode failure - some volumes do not support snapshots")
					j.info(at, "trying 'suspend' mode instead")
					b.mode = "suspend"
				}
			}
			j.info(at, "backup mode: "+b.mode)
			j.info(at, "ionice priority: 7")
			if b.mode != "snapshot" {
				j.prepareLog(at, values)
			}
			return 100 * time.Millisecond, true
		},
		func(at time.Time) (time.Duration, bool) { return j.freeze(b, at), true },
		func(at time.Time) (time.Duration, bool) {
			if b.mode == "stop" && b.running && b.g.Cur.Running {
				stopCT(b.g, at)
			}
			j.info(at, fmt.Sprintf("creating vzdump archive '%s/%s'", dumpDir(b.st), b.name))
			return bytesTime(j.dataSize(b), tarRate), true
		},
		func(at time.Time) (time.Duration, bool) {
			j.writeArchive(b, at)
			return 200 * time.Millisecond, true
		},
		func(at time.Time) (time.Duration, bool) { return j.cleanup(b, at), true },
		func(at time.Time) (time.Duration, bool) {
			if b.restart {
				o.startCT(b.g, at)
				j.info(at, fmt.Sprintf("guest is online again after %d seconds", int(at.Sub(b.stopped)/time.Second)))
			}
			took := int(at.Sub(b.start) / time.Second)
			j.info(at, fmt.Sprintf("Finished Backup of VM %s (%02d:%02d:%02d)", id, took/3600, took/60%60, took%60))
			j.info(at, "Backup finished at "+stamp(at))
			return 0, true
		},
	}
	j.seq(at.Add(o.Tasks.Dur(50*time.Millisecond)), steps, done)
}

// prepareLog is what VZDump::LXC prepare logs: the name and which mount
// points go into the backup.
func (j *dumpJob) prepareLog(at time.Time, values map[string]string) {
	if h, ok := values["hostname"]; ok {
		j.info(at, "CT Name: "+h)
	}
	for _, v := range volumesOf(values) {
		mp := "/"
		if v.Key != "rootfs" {
			p, _ := mountPoint(v.Key, values[v.Key])
			mp = p["mp"]
		}
		if !v.Backup || mountType(v.Volume) != "volume" {
			j.info(at, fmt.Sprintf("excluding %s mount point %s ('%s') from backup (disabled)", mountType(v.Volume), v.Key, mp))
			continue
		}
		j.info(at, fmt.Sprintf("including mount point %s ('%s') in backup", v.Key, mp))
	}
}

// dataSize is how much tar reads: what the backed-up volumes hold.
func (j *dumpJob) dataSize(b *guestBackup) int64 {
	var total int64
	values := j.o.Cluster.ConfOf(b.g).Values
	for _, v := range volumesOf(values) {
		if !v.Backup {
			continue
		}
		size := b.g.DiskBytes
		if v.Key != "rootfs" {
			p, _ := mountPoint(v.Key, values[v.Key])
			size = sizeOf(p["size"])
		}
		frac := 0.12 + 0.3*state.Unit(b.g.Seed, uint64(7+len(v.Key)))
		total += int64(float64(size) * frac)
	}
	return total
}

// freeze is the mode's work before tar: the vzdump snapshot, the suspend
// mode's two rsync passes, or stopping a running guest.
func (j *dumpJob) freeze(b *guestBackup, at time.Time) time.Duration {
	o := j.o
	switch b.mode {
	case "snapshot":
		j.info(at, "create storage snapshot 'vzdump'")
		conf := o.Cluster.ConfOf(b.g).Clone()
		snap := map[string]string{"snaptime": strconv.FormatInt(at.Unix(), 10), "description": "vzdump backup snapshot"}
		copySnapshotConfig(conf.Values, snap)
		delete(conf.Snapshots, "vzdump") // "found old vzdump snapshot (force removal)"
		conf.Snapshots["vzdump"] = snap
		conf.Values["parent"] = "vzdump"
		o.Cluster.WriteConf(b.g, conf)
		b.snap = true
		for _, v := range volumesOf(snap) {
			if v.Backup {
				j.t.Log(at, lvCreated("snap_"+v.Name()+"_vzdump"))
			}
		}
		return snapshotVolumeTime
	case "suspend":
		tmp := fmt.Sprintf("%s/%s.tmp", dumpDir(b.st), strings.TrimSuffix(strings.TrimSuffix(b.name, ".zst"), ".tar"))
		pid := b.g.PIDOf(b.g.Cur)
		size := j.dataSize(b)
		first := bytesTime(size, rsyncRate).Truncate(time.Second)
		j.info(at, fmt.Sprintf("starting first sync /proc/%d/root/ to %s", pid, tmp))
		end := at.Add(o.Tasks.Dur(first))
		j.info(end, fmt.Sprintf("first sync finished - transferred %s bytes in %ds", commas(size), int(first/time.Second)))
		j.info(end, "suspending guest")
		j.info(end, fmt.Sprintf("starting final sync /proc/%d/root/ to %s", pid, tmp))
		done := end.Add(o.Tasks.Dur(time.Second))
		j.info(done, fmt.Sprintf("final sync finished - transferred %s bytes in 1s", commas(size/200)))
		j.info(done, "resuming guest")
		j.info(done, "guest is online again after 1 seconds")
		return first + time.Second
	}
	if b.running {
		j.info(at, "stopping virtual guest")
		b.stopped = at
		return shutdownDuration(b.g)
	}
	return 0
}

// writeArchive is the end of tar and the rename: the archive appears in
// the storage, then gets its notes and protection.
func (j *dumpJob) writeArchive(b *guestBackup, at time.Time) {
	o := j.o
	read := j.dataSize(b)
	secs := max(float64(read)/tarRate, 1)
	j.info(at, fmt.Sprintf("Total bytes written: %d (%s, %dMiB/s)", read, humanGiB(read), int(float64(read>>20)/secs)))
	ratio := map[string]float64{"zstd": 0.38, "gzip": 0.42, "1": 0.5, "lzo": 0.5}[j.req.Compress]
	if ratio == 0 {
		ratio = 1
	}
	size := int64(float64(read) * (ratio + 0.04*state.Unit(b.g.Seed, uint64(at.Unix()))))
	cfg := map[string]string{}
	for k, v := range o.Cluster.ConfOf(b.g).Values {
		if k != "lock" && k != "parent" {
			cfg[k] = v
		}
	}
	_, _, t, format, _ := state.ParseBackupName(b.name)
	a := state.Volume{VolID: b.st.ID + ":backup/" + b.name, Content: "backup", VMID: b.g.VMID, Subtype: "lxc",
		Format: format, Size: size, CTime: t.Unix(), Config: cfg}
	j.info(at, "archive file size: "+formatSize(size))
	if tmpl := j.req.NotesTemplate; tmpl != "" {
		j.info(at, "adding notes to backup")
		a.Notes = j.notes(tmpl, b)
	}
	if j.req.Protected {
		j.info(at, "marking backup as protected")
		a.Protected = true
	}
	o.Cluster.PutVolume(b.st.ID, j.t.Node, a)
}

// cleanup removes the lock and the vzdump snapshot, and starts a guest
// that stop mode stopped.
func (j *dumpJob) cleanup(b *guestBackup, at time.Time) time.Duration {
	o := j.o
	if b.locked {
		o.Cluster.SetOption(b.g, "lock", "")
	}
	var d time.Duration
	if b.snap {
		j.info(at, "cleanup temporary 'vzdump' snapshot")
		conf := o.Cluster.ConfOf(b.g).Clone()
		snap := conf.Snapshots["vzdump"]
		for _, v := range volumesOf(snap) {
			if v.Backup {
				j.t.Log(at, lvRemoved("snap_"+v.Name()+"_vzdump"))
			}
		}
		if conf.Values["parent"] == "vzdump" {
			if p, ok := snap["parent"]; ok {
				conf.Values["parent"] = p
			} else {
				delete(conf.Values, "parent")
			}
		}
		delete(conf.Snapshots, "vzdump")
		o.Cluster.WriteConf(b.g, conf)
		d = snapshotVolumeTime
	}
	if b.mode == "stop" && b.running && !b.g.Cur.Running {
		j.info(at, "restarting vm")
		b.restart = true
		d = startDuration(b.g)
	}
	return d
}

// notes is generate_notes: the template with {{cluster}}, {{guestname}},
// {{node}} and {{vmid}} replaced and \n, \\ unescaped.
func (j *dumpJob) notes(tmpl string, b *guestBackup) string {
	cluster := j.req.ClusterName
	if cluster == "" {
		cluster = "standalone node"
	}
	name := b.g.Name
	if name == "" {
		name = "CT" + b.id
	}
	var out strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == '\\' && i+1 < len(tmpl) {
			i++
			if tmpl[i] == 'n' {
				out.WriteByte('\n')
			} else {
				out.WriteByte(tmpl[i])
			}
			continue
		}
		out.WriteByte(tmpl[i])
	}
	return strings.NewReplacer("{{cluster}}", cluster, "{{guestname}}", name, "{{node}}", j.t.Node.Name,
		"{{vmid}}", b.id).Replace(out.String())
}

// protectedLimit is vzdump's check before a protected backup: without
// Datastore.Allocate at most 5 protected backups per guest and storage.
func (o *Ops) protectedLimit(user string, st state.Storage, n *state.Node, vmid int) error {
	if o.ACL.Can(user, "/storage/"+st.ID, "Datastore.Allocate") {
		return nil
	}
	count := 0
	for _, a := range o.Cluster.ListVolumes(st.ID, n, "backup", vmid) {
		if a.Protected {
			count++
		}
	}
	if count >= 5 {
		return state.Dief("The number of protected backups per guest is limited to 5 on storage '%s'\n", st.ID)
	}
	return nil
}

// formatSize is VZDump::format_size.
func formatSize(n int64) string {
	kb := float64(n) / 1024
	switch mb := kb / 1024; {
	case kb < 1024:
		return fmt.Sprintf("%dKB", int64(kb))
	case mb < 1024:
		return fmt.Sprintf("%dMB", int64(mb))
	case mb/1024 < 1024:
		return fmt.Sprintf("%.2fGB", mb/1024)
	default:
		return fmt.Sprintf("%.2fTB", mb/1024/1024)
	}
}

// humanGiB is GNU tar's --totals size ("1.2GiB", "312MiB").
func humanGiB(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%dMiB", n>>20)
}

// commas groups digits in threes, as rsync's statistics print bytes.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// sizeOf reads a disk-size ("8G") as bytes, 0 when it does not parse.
func sizeOf(v string) int64 {
	n, _ := js.ParseSize(v)
	return n
}
