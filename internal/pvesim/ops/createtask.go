package ops

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// The vzcreate task: what PVE prints while it allocates and formats the
// disks (lvcreate or qemu-img, mkfs.ext4), extracts the template (tar
// --totals), detects the architecture and creates the SSH host keys.

// extractRate is how fast a node unpacks a template (bytes per second).
const extractRate = 240 << 20

// taskLog appends lines to a task's log, each a little after the last.
type taskLog struct {
	e  *tasks.Engine
	t  *tasks.Task
	at time.Time
}

// line logs text d (scaled) after the previous line.
func (l *taskLog) line(d time.Duration, text string) {
	l.at = l.at.Add(l.e.Dur(d))
	l.t.Log(l.at, text)
}

// wait lets d (scaled) pass without output.
func (l *taskLog) wait(d time.Duration) { l.at = l.at.Add(l.e.Dur(d)) }

// runCreate is the vzcreate task once it holds the config lock.
func (o *Ops) runCreate(c Caller, t *tasks.Task, g *state.Guest, p createPlan, at time.Time) {
	e := o.Tasks
	emsg := "unable to create CT " + p.vmid + " - "
	l := &taskLog{e: e, t: t, at: at}
	disks := o.plannedDisks(p)
	for _, d := range disks {
		if d.st != nil {
			allocLog(l, d)
		}
	}
	fail := func(after time.Duration, msg string) {
		e.Schedule(t, l.at.Add(e.Dur(after)), func(end time.Time) {
			o.Cluster.Remove(g) // the disks go with the configuration
			e.Finish(t, end, emsg+msg)
		})
	}
	tmpl, ok := o.Cluster.StoredVolume(p.tmplSID, t.Node, p.req.OSTemplate)
	if !ok {
		fail(100*time.Millisecond, fmt.Sprintf("can't find file '%s'", p.req.OSTemplate))
		return
	}
	st := o.Cluster.StorageByID(p.tmplSID)
	l.line(100*time.Millisecond, fmt.Sprintf("extracting archive '%s'", st.VolumePath(p.tmplName)))
	unpacked := tmpl.Size * 27 / 10
	took := time.Duration(unpacked) * time.Second / extractRate
	l.line(took, fmt.Sprintf("Total bytes read: %d (%dMiB, %dMiB/s)", unpacked, unpacked>>20,
		unpacked>>20*int64(time.Second)/int64(max(took, time.Millisecond))))
	values := map[string]string{}
	for k, v := range p.conf {
		values[k] = v
	}
	for _, d := range disks {
		f := state.MountPointFormat
		if d.opt == "rootfs" {
			f = state.RootfsFormat
		}
		values[d.opt] = js.PrintPropertyString(f, d.mp)
	}
	if values["arch"] == "" {
		values["arch"] = templateArch(p.tmplName)
		l.line(50*time.Millisecond, "Detected container architecture: "+values["arch"])
	}
	if values["ostype"] == "" {
		values["ostype"] = templateOS(p.tmplName)
	}
	if values["hostname"] == "" {
		values["hostname"] = "CT" + p.vmid
	}
	if values["ostype"] != "alpine" {
		host, _, _ := strings.Cut(values["hostname"], ".")
		for _, k := range []string{"rsa", "ecdsa", "ed25519"} {
			l.line(20*time.Millisecond, fmt.Sprintf("Creating SSH host key 'ssh_host_%s_key' - this may take some time ...", k))
			l.line(map[string]time.Duration{"rsa": 400, "ecdsa": 60, "ed25519": 40}[k]*time.Millisecond,
				"done: "+hostKeyFingerprint(p.vmid, k)+" root@"+host)
		}
	}
	if p.unpriv {
		values["unprivileged"] = "1"
	}
	if values["memory"] == "" || values["memory"] == "0" {
		values["memory"] = "512"
	}
	if _, ok := values["swap"]; !ok {
		values["swap"] = "512"
	}
	e.Schedule(t, l.at.Add(e.Dur(150*time.Millisecond)), func(end time.Time) {
		conf := state.NewConf()
		for k, v := range values {
			conf.Values[k] = v
		}
		o.Cluster.WriteConf(g, conf) // without the lock: create is done
		if p.req.Pool != "" {
			g.Pool = p.req.Pool
		}
		if p.req.Start {
			if _, err := o.startAt(c, p.vmid, false, end); err != nil {
				e.Finish(t, end, strings.TrimSuffix(err.Error(), "\n"))
				return
			}
		}
		if p.req.HAManaged {
			t.Log(end, "Add as HA resource")
		}
		e.Finish(t, end, "OK")
	})
}

// allocLog is alloc_disk's output (lvcreate, or qemu-img for a file) and
// mkfs.ext4's.
func allocLog(l *taskLog, d newDisk) {
	_, volname, _ := state.SplitVolID(d.volid)
	if d.st.Type == "lvmthin" || d.st.Type == "lvm" {
		l.line(250*time.Millisecond, fmt.Sprintf("  Logical volume \"%s\" created.", volname))
	} else {
		l.line(100*time.Millisecond, fmt.Sprintf("Formatting '%s', fmt=raw size=%d preallocation=off",
			d.st.VolumePath(volname), d.size))
	}
	blocks := d.size / 4096
	l.line(300*time.Millisecond, fmt.Sprintf("Creating filesystem with %d 4k blocks and %d inodes", blocks, d.size/16384))
	sum := sha256.Sum256([]byte(d.volid))
	l.line(10*time.Millisecond, fmt.Sprintf("Filesystem UUID: %x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]))
	var backups []string
	for _, b := range []int64{32768, 98304, 163840, 229376, 294912, 819200, 884736, 1605632, 2654208, 4096000,
		7962624, 11239424, 20480000, 23887872} {
		if b < blocks {
			backups = append(backups, strconv.FormatInt(b, 10))
		}
	}
	l.line(10*time.Millisecond, "Superblock backups stored on blocks: ")
	l.line(10*time.Millisecond, "\t"+strings.Join(backups, ", "))
	l.line(10*time.Millisecond, "")
}

// templateArch is what the architecture detection finds in a template
// named like PVE's ("..._amd64.tar.zst").
func templateArch(name string) string {
	for _, a := range []string{"arm64", "armhf", "i386", "riscv64"} {
		if strings.Contains(name, "_"+a+".") {
			return a
		}
	}
	return "amd64"
}

// templateOS is the distribution PVE's setup code detects.
func templateOS(name string) string {
	base := name[strings.LastIndexByte(name, '/')+1:]
	for _, m := range []struct{ prefix, os string }{
		{"debian", "debian"}, {"ubuntu", "ubuntu"}, {"alpine", "alpine"}, {"rockylinux", "centos"},
		{"almalinux", "centos"}, {"centos", "centos"}, {"fedora", "fedora"}, {"archlinux", "archlinux"},
		{"opensuse", "opensuse"}, {"gentoo", "gentoo"}, {"devuan", "devuan"}, {"nixos", "nixos"},
	} {
		if strings.HasPrefix(base, m.prefix) {
			return m.os
		}
	}
	return "unmanaged"
}

// hostKeyFingerprint is a stable stand-in for ssh-keygen's fingerprint.
func hostKeyFingerprint(vmid, kind string) string {
	sum := sha256.Sum256([]byte("host key " + kind + " " + vmid))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
