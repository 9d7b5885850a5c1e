package state

import (
	"fmt"
	"strconv"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// A container's configuration is the source of truth for its name,
// sizes, tags, lock and template flag: every write of the file (WriteConf)
// derives the guest's fields from the current values again. The file of a
// guest created from a Spec is built on first use from those fields.

// ConfOf returns container g's configuration file (nil for a VM). The
// caller must not modify it; use Clone and WriteConf.
func (c *Cluster) ConfOf(g *Guest) *Conf {
	if g.Type != "lxc" {
		return nil
	}
	if g.conf == nil {
		g.conf = g.initialConf()
	}
	return g.conf
}

// WriteConf makes conf container g's configuration file: it is written
// and read back, as PVE does after every change, and the guest's fields
// follow its current values.
func (c *Cluster) WriteConf(g *Guest, conf *Conf) {
	g.conf = ParseConf(conf.Render(), c.Keys)
	g.derive()
}

// SetOption sets (value != "") or removes one current option of guest g
// directly in its file, as an edit behind the API's back would. For a VM
// only the lock is modelled.
func (c *Cluster) SetOption(g *Guest, key, value string) {
	if g.Type != "lxc" {
		if key == "lock" {
			g.Lock = value
		}
		return
	}
	conf := c.ConfOf(g).Clone()
	if value == "" {
		delete(conf.Values, key)
	} else {
		conf.Values[key] = value
	}
	c.WriteConf(g, conf)
}

// MacAddr is the simulated MAC address of a guest's interface n (PVE's
// prefix BC:24:11, the rest from the guest's seed).
func MacAddr(g *Guest, n int) string {
	x := Mix64(g.Seed + uint64(n)*0x9E3779B97F4A7C15)
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", byte(x>>16), byte(x>>8), byte(x))
}

// VolumeName is the volume of disk n of container g on local-lvm.
func VolumeName(g *Guest, n int) string {
	prefix := "vm"
	if g.Template {
		prefix = "base"
	}
	return fmt.Sprintf("local-lvm:%s-%d-disk-%d", prefix, g.VMID, n)
}

// initialConf is the file of a container created from a Spec: the
// options a container made in the GUI has.
func (g *Guest) initialConf() *Conf {
	c := NewConf()
	v := c.Values
	v["arch"] = "amd64"
	v["ostype"] = "debian"
	v["unprivileged"] = "1"
	v["features"] = "nesting=1"
	v["memory"] = strconv.Itoa(g.MemMiB)
	v["swap"] = strconv.Itoa(g.SwapMiB)
	v["rootfs"] = VolumeName(g, 0) + ",size=" + js.FormatSize(g.DiskBytes)
	v["net0"] = "name=eth0,bridge=vmbr0,firewall=1,hwaddr=" + MacAddr(g, 0) + ",ip=dhcp,type=veth"
	if g.Cores > 0 {
		v["cores"] = strconv.Itoa(g.Cores)
	}
	if g.CPULimit != "" {
		v["cpulimit"] = g.CPULimit
	}
	if g.Name != "" {
		v["hostname"] = g.Name
	}
	if g.Tags != "" {
		v["tags"] = g.Tags
	}
	if g.Lock != "" {
		v["lock"] = g.Lock
	}
	if g.Template {
		v["template"] = "1"
	}
	return c
}

// derive sets the guest's fields from its current options, the way
// vmstatus reads them.
func (g *Guest) derive() {
	v := g.conf.Values
	g.Name = v["hostname"]
	g.Template = perl.True(v["template"], true)
	g.Lock = v["lock"]
	g.Tags = v["tags"]
	g.Cores, _ = strconv.Atoi(v["cores"])
	g.CPULimit = v["cpulimit"]
	g.MemMiB, _ = strconv.Atoi(v["memory"])
	if g.MemMiB == 0 {
		g.MemMiB = 512
	}
	g.SwapMiB, _ = strconv.Atoi(v["swap"])
	g.DiskBytes = 4 * GiB
	if mp, err := js.ParsePropertyString(RootfsFormat, v["rootfs"], "", js.Base()); err == nil {
		if size, ok := js.ParseSize(mp["size"]); ok && size > 0 {
			g.DiskBytes = size
		}
	}
}
