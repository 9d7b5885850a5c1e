package ops

import (
	"fmt"
	"strconv"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Applying pending changes (pve-container LXC/Config.pm
// vmconfig_hotplug_pending for a running container, vmconfig_apply_pending
// for a stopped one and at every start).

// fastplug are the options a running container takes at once
// ($LXC_FASTPLUG_OPTIONS).
var fastplug = map[string]bool{"description": true, "onboot": true, "startup": true, "protection": true,
	"hostname": true, "hookscript": true, "cores": true, "tags": true, "lock": true}

// hotplugPending applies what a running container can take of the
// options in selection: fast-plug options, cgroup limits, network
// interfaces, new mount points and devices. The rest stays pending.
func (o *Ops) hotplugPending(g *state.Guest, conf *state.Conf, selection map[string]bool) {
	for _, opt := range sortedKeys(conf.Pending) {
		if opt != "delete" && selection[opt] && fastplug[opt] {
			conf.Values[opt] = conf.Pending[opt]
			delete(conf.Pending, opt)
		}
	}
	deletes := conf.PendingDeletes()
	for _, opt := range sortedKeys(deletes) {
		if !selection[opt] {
			continue
		}
		if fastplug[opt] || strings.HasPrefix(opt, "unused") || opt == "swap" || opt == "cpulimit" ||
			opt == "cpuunits" || netKeyRe.MatchString(opt) {
			delete(conf.Values, opt)
			conf.RemovePendingDelete(opt)
		}
	}
	for _, opt := range sortedKeys(conf.Pending) {
		if opt == "delete" || !selection[opt] {
			continue
		}
		value := conf.Pending[opt]
		_, exists := conf.Values[opt]
		switch {
		case opt == "cpulimit" || opt == "cpuunits" || opt == "memory" || opt == "swap":
		case netKeyRe.MatchString(opt):
			value = o.normaliseNet(g, opt, value)
		case mpRe.MatchString(opt) && !exists:
			value = o.allocateMountPoint(g, conf, opt, value)
		case devKeyRe.MatchString(opt) && !exists:
		default:
			continue // not hot-pluggable
		}
		conf.Values[opt] = value
		delete(conf.Pending, opt)
	}
}

// applyPending applies every pending change of a stopped container among
// the options in selection (nil: all of them).
func (o *Ops) applyPending(g *state.Guest, conf *state.Conf, selection map[string]bool) {
	picked := func(opt string) bool { return selection == nil || selection[opt] }
	for _, opt := range sortedKeys(conf.PendingDeletes()) {
		if !picked(opt) {
			continue
		}
		if mpRe.MatchString(opt) {
			if mp, ok := mountPoint(opt, conf.Values[opt]); ok && mountType(mp["volume"]) == "volume" {
				addUnused(conf, mp["volume"])
			}
		}
		delete(conf.Values, opt)
		conf.RemovePendingDelete(opt)
	}
	conf.CleanupPending()
	for _, opt := range sortedKeys(conf.Pending) {
		if opt == "delete" || !picked(opt) {
			continue
		}
		value := conf.Pending[opt]
		switch {
		case mpRe.MatchString(opt):
			value = o.allocateMountPoint(g, conf, opt, value)
		case netKeyRe.MatchString(opt):
			value = o.normaliseNet(g, opt, value)
		}
		conf.Values[opt] = value
		delete(conf.Pending, opt)
	}
}

// applyAllPending is vm_start's first step: every pending change is
// applied and the file written.
func (o *Ops) applyAllPending(g *state.Guest) {
	conf := o.Cluster.ConfOf(g)
	if conf == nil || len(conf.Pending) == 0 {
		return
	}
	next := conf.Clone()
	o.applyPending(g, next, nil)
	o.Cluster.WriteConf(g, next)
}

// generatedMAC offsets the MAC addresses PVE would pick at random from
// the ones a container is created with.
const generatedMAC = 64

// normaliseNet is parse_lxc_network and print_lxc_network: the type is
// veth and a missing MAC address is generated.
func (o *Ops) normaliseNet(g *state.Guest, opt, value string) string {
	net, err := js.ParsePropertyString(state.NetFormat, value, "", js.Base())
	if err != nil {
		return value
	}
	net["type"] = "veth"
	if net["hwaddr"] == "" {
		n, _ := strconv.Atoi(strings.TrimPrefix(opt, "net"))
		net["hwaddr"] = state.MacAddr(g, generatedMAC+n)
	}
	return js.PrintPropertyString(state.NetFormat, net)
}

// allocateMountPoint is apply_pending_mountpoint: "STORAGE:SIZE" makes a
// new volume of SIZE GiB; a replaced volume becomes unused.
func (o *Ops) allocateMountPoint(g *state.Guest, conf *state.Conf, opt, value string) string {
	mp, ok := mountPoint(opt, value)
	if !ok || mountType(mp["volume"]) != "volume" {
		return value
	}
	if m := newDiskRe.FindStringSubmatch(mp["volume"]); m != nil {
		size, _ := strconv.ParseFloat(m[2], 64)
		mp["volume"] = fmt.Sprintf("%s:vm-%d-disk-%d", m[1], g.VMID, nextDisk(conf, g))
		mp["size"] = js.FormatSize(int64(size * float64(state.GiB)))
	}
	if old, ok := mountPoint(opt, conf.Values[opt]); ok && old["volume"] != mp["volume"] && mountType(old["volume"]) == "volume" {
		addUnused(conf, old["volume"])
	}
	f := state.MountPointFormat
	if opt == "rootfs" {
		f = state.RootfsFormat
	}
	return js.PrintPropertyString(f, mp)
}

// nextDisk is the lowest disk number no volume of g uses yet.
func nextDisk(conf *state.Conf, g *state.Guest) int {
	used := map[int]bool{}
	for _, section := range []map[string]string{conf.Values, conf.Pending} {
		for _, v := range section {
			for _, prefix := range []string{"vm", "base"} {
				marker := fmt.Sprintf(":%s-%d-disk-", prefix, g.VMID)
				if i := strings.Index(v, marker); i >= 0 {
					rest := v[i+len(marker):]
					end := strings.IndexAny(rest, ",")
					if end < 0 {
						end = len(rest)
					}
					if n, err := strconv.Atoi(rest[:end]); err == nil {
						used[n] = true
					}
				}
			}
		}
	}
	n := 0
	for used[n] {
		n++
	}
	return n
}

// addUnused is add_unused_volume: the first free unusedN takes volid.
func addUnused(conf *state.Conf, volid string) {
	for i := 0; i < state.MaxUnused; i++ {
		key := "unused" + strconv.Itoa(i)
		if v, ok := conf.Values[key]; ok {
			if v == volid {
				return
			}
			continue
		}
		conf.Values[key] = volid
		return
	}
}
