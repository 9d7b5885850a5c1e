package state

import (
	"regexp"
	"strconv"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
)

// The container configuration's options (pve-container LXC/Config.pm
// $confdesc and the property-string formats), as the API schema shows
// them for PUT .../config.

// Maximum counts of the indexed options.
const (
	MaxNetworks    = 32
	MaxMountPoints = 256
	MaxUnused      = 256
	MaxDevices     = 256
)

var (
	b        = js.Prop{Type: "boolean", Optional: true}
	mountOpt = `(?:(?:discard|lazytime|noatime|nodev|noexec|nosuid))(?:;(?:discard|lazytime|noatime|nodev|noexec|nosuid))*`
)

// NetFormat is the format of netN (pve-lxc-network).
var NetFormat = js.PropFormat{
	"type":         {Type: "string", Optional: true, Enum: []string{"veth"}},
	"name":         {Type: "string", Pattern: `[-_.\w\d]+`},
	"bridge":       {Type: "string", Optional: true, Pattern: `[-_.\w\d]+`},
	"hwaddr":       {Type: "string", Optional: true, Format: "mac-addr"},
	"mtu":          {Type: "integer", Optional: true, Minimum: js.F(64), Maximum: js.F(65535)},
	"ip":           {Type: "string", Optional: true, Format: "pve-ipv4-config"},
	"gw":           {Type: "string", Optional: true, Format: "ipv4"},
	"ip6":          {Type: "string", Optional: true, Format: "pve-ipv6-config"},
	"gw6":          {Type: "string", Optional: true, Format: "ipv6"},
	"firewall":     b,
	"tag":          {Type: "integer", Optional: true, Minimum: js.F(1), Maximum: js.F(4094)},
	"trunks":       {Type: "string", Optional: true, Pattern: `\d+(?:;\d+)*`},
	"rate":         {Type: "number", Optional: true},
	"link_down":    b,
	"host-managed": b,
}

// RootfsFormat is the format of rootfs.
var RootfsFormat = js.PropFormat{
	"volume":       {Type: "string", DefaultKey: true, Format: "pve-lxc-mp-string"},
	"size":         {Type: "string", Optional: true, Format: "disk-size"},
	"acl":          b,
	"mountoptions": {Type: "string", Optional: true, Pattern: mountOpt},
	"idmap": {Type: "string", Optional: true,
		Pattern: `(?:passthrough|[ug]:[0-9]+:[0-9]+:[1-9][0-9]*(?:;[ug]:[0-9]+:[0-9]+:[1-9][0-9]*)*)`},
	"ro":        b,
	"quota":     b,
	"replicate": b,
	"shared":    b,
}

// MountPointFormat is the format of mpN.
var MountPointFormat = func() js.PropFormat {
	f := js.PropFormat{}
	for k, v := range RootfsFormat {
		f[k] = v
	}
	f["backup"] = b
	f["mp"] = js.Prop{Type: "string", Format: "pve-lxc-mp-string"}
	f["keepattrs"] = b
	return f
}()

// UnusedFormat is the format of unusedN.
var UnusedFormat = js.PropFormat{
	"volume": {Type: "string", DefaultKey: true, Format: "pve-volume-id"},
}

// DeviceFormat is the format of devN.
var DeviceFormat = js.PropFormat{
	"path":       {Type: "string", Optional: true, DefaultKey: true, Format: "pve-lxc-dev-string"},
	"mode":       {Type: "string", Optional: true, Pattern: `0[0-7]{3}`},
	"uid":        {Type: "integer", Optional: true, Minimum: js.F(0)},
	"gid":        {Type: "integer", Optional: true, Minimum: js.F(0)},
	"deny-write": b,
}

// FeaturesFormat is the format of features.
var FeaturesFormat = js.PropFormat{
	"mount":        {Type: "string", Optional: true, Pattern: `[a-zA-Z0-9_; ]+`},
	"nesting":      b,
	"keyctl":       b,
	"fuse":         b,
	"mknod":        b,
	"force_rw_sys": b,
}

// ConfigKey describes one option; names of indexed options end in "[n]".
type ConfigKey struct {
	js.Prop
	// Since is the first pve-manager version with the option ("" always).
	Since [3]int
}

// ConfigKeys returns every container option of pve-manager version v.
func ConfigKeys(v [3]int) map[string]ConfigKey {
	s := func(p js.Prop) ConfigKey { p.Optional = true; return ConfigKey{Prop: p} }
	keys := map[string]ConfigKey{
		"arch":         s(js.Prop{Type: "string", Enum: []string{"amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"}}),
		"cmode":        s(js.Prop{Type: "string", Enum: []string{"shell", "console", "tty"}}),
		"console":      s(js.Prop{Type: "boolean"}),
		"cores":        s(js.Prop{Type: "integer", Minimum: js.F(1), Maximum: js.F(8192)}),
		"cpulimit":     s(js.Prop{Type: "number", Minimum: js.F(0), Maximum: js.F(8192)}),
		"cpuunits":     s(js.Prop{Type: "integer", Minimum: js.F(0), Maximum: js.F(500000)}),
		"debug":        s(js.Prop{Type: "boolean"}),
		"description":  s(js.Prop{Type: "string", MaxLength: 8192}),
		"dev[n]":       s(js.Prop{Type: "string", Inline: DeviceFormat, Indexed: MaxDevices}),
		"features":     s(js.Prop{Type: "string", Inline: FeaturesFormat}),
		"hookscript":   s(js.Prop{Type: "string", Format: "pve-volume-id"}),
		"hostname":     s(js.Prop{Type: "string", Format: "dns-name", MaxLength: 255}),
		"lock":         s(js.Prop{Type: "string", Enum: []string{"backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete"}}),
		"memory":       s(js.Prop{Type: "integer", Minimum: js.F(16)}),
		"mp[n]":        s(js.Prop{Type: "string", Inline: MountPointFormat, Indexed: MaxMountPoints}),
		"nameserver":   s(js.Prop{Type: "string", Format: "lxc-ip-with-ll-iface-list"}),
		"net[n]":       s(js.Prop{Type: "string", Inline: NetFormat, Indexed: MaxNetworks}),
		"onboot":       s(js.Prop{Type: "boolean"}),
		"ostype":       s(js.Prop{Type: "string", Enum: []string{"debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged"}}),
		"protection":   s(js.Prop{Type: "boolean"}),
		"rootfs":       s(js.Prop{Type: "string", Inline: RootfsFormat}),
		"searchdomain": s(js.Prop{Type: "string", Format: "dns-name-list"}),
		"startup":      s(js.Prop{Type: "string", Format: "pve-startup-order"}),
		"swap":         s(js.Prop{Type: "integer", Minimum: js.F(0)}),
		"tags":         s(js.Prop{Type: "string", Format: "pve-tag-list"}),
		"template":     s(js.Prop{Type: "boolean"}),
		"timezone":     s(js.Prop{Type: "string", Format: "pve-ct-timezone"}),
		"tty":          s(js.Prop{Type: "integer", Minimum: js.F(0), Maximum: js.F(6)}),
		"unprivileged": s(js.Prop{Type: "boolean"}),
		"unused[n]":    s(js.Prop{Type: "string", Inline: UnusedFormat, Indexed: MaxUnused}),
	}
	if atLeast(v, [3]int{9, 1, 0}) {
		// pve-container 6.0.14 (7c2679b, 1657107)
		keys["entrypoint"] = s(js.Prop{Type: "string", Pattern: `[^\x00-\x08\x0a-\x1F\x7F]+`})
		keys["env"] = s(js.Prop{Type: "string", Pattern: `(?:\w+=[^\x00-\x08\x0a-\x1F\x7F]*)(?:\x00\w+=[^\x00-\x08\x0a-\x1F\x7F]*)*`})
	}
	return keys
}

func atLeast(v, want [3]int) bool {
	for i := 0; i < 3; i++ {
		if v[i] != want[i] {
			return v[i] > want[i]
		}
	}
	return true
}

var indexedKeyRe = regexp.MustCompile(`^([a-z]+)(\d+)$`)

// LookupKey finds the description of option name ("net3" finds
// "net[n]") in keys.
func LookupKey(keys map[string]ConfigKey, name string) (ConfigKey, bool) {
	if k, ok := keys[name]; ok && k.Indexed == 0 {
		return k, true
	}
	m := indexedKeyRe.FindStringSubmatch(name)
	if m == nil {
		return ConfigKey{}, false
	}
	k, ok := keys[m[1]+"[n]"]
	if !ok {
		return ConfigKey{}, false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n >= k.Indexed || strconv.Itoa(n) != m[2] {
		return ConfigKey{}, false
	}
	return k, true
}
