package web

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// A container's settings are edited in sections, one form each; a section
// sends only the keys that changed, with the digest of the configuration it
// was made against.

// Section names (the form's "section" field).
const (
	secResources = "resources"
	secGeneral   = "general"
	secDNS       = "dns"
	secOptions   = "options"
	secNotes     = "notes"
	secNetwork   = "network"
)

// field is one edited value: its config key, label, the text in the form
// and an error to show next to it.
type field struct {
	Key   string
	Label string
	Value string
	Error string
	// Now is PVE's current value when somebody else changed it meanwhile.
	Now string
}

// netForm is one network interface in the form.
type netForm struct {
	Key      string // net0
	Name     string
	Bridge   string
	IPv4Mode string // dhcp, static, manual, none
	IP       string
	GW       string
	IPv6Mode string // dhcp, auto, static, manual, none
	IP6      string
	GW6      string
	Tag      string
	Rate     string
	MTU      string
	Firewall bool
	Remove   bool
	rest     lxc.PropertyString // keys the form does not edit (hwaddr, type, ...)
	Errors   map[string]string
}

// settingsForms is the data of every settings form on the container page.
type settingsForms struct {
	Digest    string
	Can       containerCan
	Fields    map[string]*field // by config key
	Nets      []netForm
	NewNet    netForm // the "add an interface" row
	DiskSize  string  // GiB, current
	DiskVol   string
	Section   string // the section with errors or a conflict
	Conflict  bool
	Error     string
	maxNetIdx int
}

// F returns the field for key (an empty one if the page has none).
func (f settingsForms) F(key string) *field {
	if x, ok := f.Fields[key]; ok {
		return x
	}
	return &field{Key: key}
}

// sectionKeys are the plain keys each section edits.
var sectionKeys = map[string][]string{
	secResources: {"cores", "cpulimit", "cpuunits", "memory", "swap"},
	secGeneral:   {"hostname", "tags"},
	secDNS:       {"nameserver", "searchdomain"},
	secOptions:   {"onboot", "startup", "protection", "cmode"},
	secNotes:     {"description"},
}

// fieldLabels name each key in messages ("Memory must be ...").
var fieldLabels = map[string]string{
	"cores": "Cores", "cpulimit": "CPU limit", "cpuunits": "CPU units", "memory": "Memory", "swap": "Swap",
	"hostname": "Host name", "tags": "Tags", "nameserver": "DNS servers", "searchdomain": "DNS search domain",
	"onboot": "Start at boot", "startup": "Startup order", "protection": "Protection", "cmode": "Console mode",
	"description": "Notes",
}

// sectionPriv is the privilege each section needs (PVE checks it again).
func sectionPriv(section string) string {
	switch section {
	case secResources:
		return privCPU + " or " + privMemory
	case secGeneral, secDNS, secNetwork:
		return privNetwork
	default:
		return privOptions
	}
}

// keyAllowed reports whether the viewer may change key.
func keyAllowed(can containerCan, key string) bool {
	switch key {
	case "cores", "cpulimit", "cpuunits":
		return can.CPU
	case "memory", "swap":
		return can.Memory
	case "hostname", "nameserver", "searchdomain":
		return can.Network
	}
	if _, ok := lxc.NetIndex(key); ok {
		return can.Network
	}
	return can.Options
}

// settingsFromConfig fills the forms with the configuration's values.
func settingsFromConfig(cfg lxc.Config, can containerCan) settingsForms {
	f := settingsForms{Digest: cfg.Digest, Can: can, Fields: map[string]*field{}}
	for _, keys := range sectionKeys {
		for _, k := range keys {
			f.Fields[k] = &field{Key: k, Label: fieldLabels[k], Value: formValue(cfg, k)}
		}
	}
	for _, k := range cfg.NetKeys() {
		f.Nets = append(f.Nets, netFormOf(k, cfg.Get(k)))
		if i, _ := lxc.NetIndex(k); i >= f.maxNetIdx {
			f.maxNetIdx = i + 1
		}
	}
	f.NewNet = netForm{IPv4Mode: "dhcp", IPv6Mode: "none", Bridge: "vmbr0", Firewall: true}
	root := lxc.ParseRootFS(cfg.Get("rootfs"))
	f.DiskVol = root.Volume
	if root.Size > 0 {
		f.DiskSize = strconv.FormatFloat(float64(root.Size)/(1<<30), 'f', -1, 64)
	}
	return f
}

// formValue is a key's value as the form shows it.
func formValue(cfg lxc.Config, key string) string {
	v := cfg.Get(key)
	switch key {
	case "tags":
		return strings.Join(lxc.SplitTags(v), " ")
	case "onboot", "protection":
		if cfg.Bool(key, false) {
			return "1"
		}
		return "0"
	case "cmode":
		if v == "" {
			return "tty"
		}
	}
	return v
}

// netFormOf splits a netN value into the form's fields.
func netFormOf(key, value string) netForm {
	p := lxc.ParsePropertyString(value)
	n := netForm{Key: key, Name: p.Get("name"), Bridge: p.Get("bridge"), GW: p.Get("gw"), GW6: p.Get("gw6"),
		Tag: p.Get("tag"), Rate: p.Get("rate"), MTU: p.Get("mtu"), Firewall: p.Get("firewall") == "1"}
	n.IPv4Mode, n.IP = ipMode(p.Get("ip"))
	n.IPv6Mode, n.IP6 = ipMode(p.Get("ip6"))
	for _, k := range []string{"name", "bridge", "ip", "gw", "ip6", "gw6", "tag", "rate", "mtu", "firewall"} {
		p.Set(k, "")
	}
	n.rest = p
	return n
}

func ipMode(v string) (mode, addr string) {
	switch v {
	case "":
		return "none", ""
	case "dhcp", "auto", "manual":
		return v, ""
	}
	return "static", v
}

// value joins the form's fields into a netN value, keeping the keys the
// form does not edit (the MAC address above all).
func (n netForm) value() string {
	p := lxc.PropertyString{}
	p.Set("name", n.Name)
	p.Set("bridge", n.Bridge)
	if n.Firewall {
		p.Set("firewall", "1")
	}
	if n.IPv4Mode == "static" {
		p.Set("gw", n.GW)
	}
	if n.IPv6Mode == "static" {
		p.Set("gw6", n.GW6)
	}
	for _, k := range n.rest.Keys {
		p.Set(k, n.rest.Vals[k])
	}
	switch n.IPv4Mode {
	case "static":
		p.Set("ip", n.IP)
	case "dhcp", "manual":
		p.Set("ip", n.IPv4Mode)
	}
	switch n.IPv6Mode {
	case "static":
		p.Set("ip6", n.IP6)
	case "dhcp", "auto", "manual":
		p.Set("ip6", n.IPv6Mode)
	}
	p.Set("tag", n.Tag)
	p.Set("rate", n.Rate)
	p.Set("mtu", n.MTU)
	return p.String()
}

// sameProperties reports whether two property strings hold the same items,
// whatever their order.
func sameProperties(a, b string) bool {
	pa, pb := lxc.ParsePropertyString(a), lxc.ParsePropertyString(b)
	if pa.Default != pb.Default || len(pa.Vals) != len(pb.Vals) {
		return false
	}
	for k, v := range pa.Vals {
		if w, ok := pb.Vals[k]; !ok || w != v {
			return false
		}
	}
	return true
}

var (
	dnsLabel   = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	tagPattern = regexp.MustCompile(`^(?i)[a-z0-9_][a-z0-9_\-+.]*$`)
	ifName     = regexp.MustCompile(`^[-_.\w]{1,15}$`)
	bridgeName = regexp.MustCompile(`^[-_.\w]{1,15}$`)
	startupRe  = regexp.MustCompile(`^(order=\d+)?(,?up=\d+)?(,?down=\d+)?$`)
)

// validDNSName reports whether s is a DNS name PVE accepts (labels of
// letters, digits and hyphens, dot-separated).
func validDNSName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// readSection reads one section of the settings form into f, checking
// every value as PVE would; it reports whether all were valid.
func (f *settingsForms) readSection(section string, form url.Values) bool {
	ok := true
	fail := func(key, msg string) {
		f.F(key).Error, ok = msg, false
	}
	for _, k := range sectionKeys[section] {
		x := f.F(k)
		if _, seen := f.Fields[k]; !seen {
			f.Fields[k] = x
		}
		x.Label = fieldLabels[k]
		v := strings.TrimSpace(form.Get(k))
		switch k {
		case "onboot", "protection":
			v = boolText(form.Get(k) != "")
		case "description":
			v = strings.ReplaceAll(form.Get(k), "\r\n", "\n")
		case "tags":
			v = strings.Join(lxc.SplitTags(v), " ")
		case "nameserver", "searchdomain":
			v = strings.Join(strings.Fields(v), " ")
		}
		x.Value = v
		if msg := checkValue(k, v); msg != "" {
			fail(k, msg)
		}
	}
	return ok
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// checkValue returns why PVE would refuse v for key, or "".
func checkValue(key, v string) string {
	label := fieldLabels[key]
	intIn := func(lo, hi int64, unit string) string {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return label + " must be a whole number."
		}
		if n < lo {
			return fmt.Sprintf("%s must be at least %d%s.", label, lo, unit)
		}
		if hi > 0 && n > hi {
			return fmt.Sprintf("%s must be at most %d%s.", label, hi, unit)
		}
		return ""
	}
	switch key {
	case "cores":
		if v == "" {
			return "" // unset: all of the host's cores
		}
		return intIn(1, 8192, "")
	case "cpulimit":
		if v == "" {
			return ""
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || n > 8192 {
			return "CPU limit must be a number from 0 (no limit) to 8192."
		}
	case "cpuunits":
		if v == "" {
			return ""
		}
		return intIn(0, 500000, "")
	case "memory":
		return intIn(16, 0, " MiB")
	case "swap":
		return intIn(0, 0, " MiB")
	case "hostname":
		if !validDNSName(v) {
			return "Host name must be a DNS name: letters, digits and hyphens, labels separated by dots."
		}
	case "tags":
		for _, t := range lxc.SplitTags(v) {
			if !tagPattern.MatchString(t) {
				return fmt.Sprintf("The tag %q may hold only letters, digits and _ - + . (not at the start).", t)
			}
		}
	case "nameserver":
		for _, a := range strings.Fields(v) {
			if _, err := netip.ParseAddr(a); err != nil {
				return fmt.Sprintf("%q is not an IP address.", a)
			}
		}
	case "searchdomain":
		for _, d := range strings.Fields(v) {
			if !validDNSName(d) {
				return fmt.Sprintf("%q is not a domain name.", d)
			}
		}
	case "startup":
		if v != "" && (!startupRe.MatchString(v) || strings.HasPrefix(v, ",")) {
			return "Startup order is written order=N,up=N,down=N (each part optional), e.g. order=2,up=30."
		}
	case "cmode":
		if v != "tty" && v != "console" && v != "shell" {
			return "Choose tty, console or shell."
		}
	case "description":
		if len(v) > 8192 || !utf8.ValidString(v) {
			return "Notes may be at most 8 KiB of text."
		}
	}
	return ""
}

// readNetworks reads the interface rows of the network form.
func (f *settingsForms) readNetworks(form url.Values) bool {
	ok := true
	var rows []netForm
	existing := map[string]netForm{}
	for _, n := range f.Nets {
		existing[n.Key] = n
	}
	for _, key := range form["net"] {
		if _, valid := lxc.NetIndex(key); !valid {
			continue
		}
		n := netRow(form, key+".")
		n.Key = key
		n.rest = existing[key].rest
		n.Remove = form.Get(key+".remove") != ""
		if !n.Remove && !n.check() {
			ok = false
		}
		rows = append(rows, n)
	}
	if name := strings.TrimSpace(form.Get("new.name")); name != "" {
		n := netRow(form, "new.")
		n.Key = f.freeNetKey(rows)
		if n.Key == "" {
			n.Errors = map[string]string{"name": fmt.Sprintf("A container has at most %d network interfaces.", lxc.MaxNetIfs)}
			ok = false
		} else if !n.check() {
			ok = false
		}
		if n.Key == "" || len(n.Errors) > 0 {
			f.NewNet = n
		} else {
			rows = append(rows, n)
		}
	}
	names := map[string]string{}
	for i := range rows {
		n := &rows[i]
		if n.Remove {
			continue
		}
		if other, dup := names[n.Name]; dup {
			n.setError("name", fmt.Sprintf("%s already uses the name %s.", other, n.Name))
			ok = false
		}
		names[n.Name] = n.Key
	}
	f.Nets = rows
	return ok
}

// freeNetKey is the lowest netN neither configured nor in the form.
func (f *settingsForms) freeNetKey(rows []netForm) string {
	used := map[string]bool{}
	for _, n := range rows {
		used[n.Key] = true
	}
	for i := range lxc.MaxNetIfs {
		if k := "net" + strconv.Itoa(i); !used[k] {
			return k
		}
	}
	return ""
}

func netRow(form url.Values, prefix string) netForm {
	g := func(k string) string { return strings.TrimSpace(form.Get(prefix + k)) }
	return netForm{Name: g("name"), Bridge: g("bridge"), IPv4Mode: g("ipv4"), IP: g("ip"), GW: g("gw"),
		IPv6Mode: g("ipv6"), IP6: g("ip6"), GW6: g("gw6"), Tag: g("tag"), Rate: g("rate"), MTU: g("mtu"),
		Firewall: form.Get(prefix+"firewall") != ""}
}

func (n *netForm) setError(k, msg string) {
	if n.Errors == nil {
		n.Errors = map[string]string{}
	}
	if _, has := n.Errors[k]; !has {
		n.Errors[k] = msg
	}
}

// check validates one interface as PVE's schema would.
func (n *netForm) check() bool {
	if !ifName.MatchString(n.Name) {
		n.setError("name", "Name the interface as the container sees it, e.g. eth0 (letters, digits, - _ .; at most 15).")
	}
	if !bridgeName.MatchString(n.Bridge) {
		n.setError("bridge", "Choose a bridge, e.g. vmbr0.")
	}
	switch n.IPv4Mode {
	case "none", "dhcp", "manual":
	case "static":
		p, err := netip.ParsePrefix(n.IP)
		if err != nil || !p.Addr().Is4() {
			n.setError("ip", "Enter an IPv4 address with its prefix length, e.g. 192.168.1.20/24.")
		}
		if n.GW != "" {
			if a, err := netip.ParseAddr(n.GW); err != nil || !a.Is4() {
				n.setError("gw", "The IPv4 gateway must be an IPv4 address.")
			} else if err == nil && p.IsValid() && !p.Masked().Contains(a) {
				n.setError("gw", "The gateway must be in the interface's network.")
			}
		}
	default:
		n.setError("ip", "Choose DHCP, static, manual or none.")
	}
	switch n.IPv6Mode {
	case "none", "dhcp", "auto", "manual":
	case "static":
		p, err := netip.ParsePrefix(n.IP6)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
			n.setError("ip6", "Enter an IPv6 address with its prefix length, e.g. 2001:db8::20/64.")
		}
		if n.GW6 != "" {
			if a, err := netip.ParseAddr(n.GW6); err != nil || !a.Is6() {
				n.setError("gw6", "The IPv6 gateway must be an IPv6 address.")
			}
		}
	default:
		n.setError("ip6", "Choose DHCP, SLAAC, static, manual or none.")
	}
	if n.Tag != "" {
		if t, err := strconv.Atoi(n.Tag); err != nil || t < 1 || t > 4094 {
			n.setError("tag", "The VLAN tag must be from 1 to 4094.")
		}
	}
	if n.Rate != "" {
		if r, err := strconv.ParseFloat(n.Rate, 64); err != nil || r < 0 {
			n.setError("rate", "The rate limit is a number of MB/s.")
		}
	}
	if n.MTU != "" {
		if m, err := strconv.Atoi(n.MTU); err != nil || m < 64 || m > 65535 {
			n.setError("mtu", "The MTU must be from 64 to 65535.")
		}
	}
	return len(n.Errors) == 0
}

// change turns a valid section into the keys to set and delete, compared
// with cfg; only what differs is sent.
func (f *settingsForms) change(section string, cfg lxc.Config) lxc.ConfigChange {
	ch := lxc.ConfigChange{Set: map[string]string{}, Digest: f.Digest}
	if section == secNetwork {
		for _, n := range f.Nets {
			switch {
			case n.Remove:
				if cfg.Has(n.Key) {
					ch.Delete = append(ch.Delete, n.Key)
				}
			case !sameProperties(n.value(), cfg.Get(n.Key)):
				ch.Set[n.Key] = n.value()
			}
		}
		return ch
	}
	for _, k := range sectionKeys[section] {
		v := f.F(k).Value
		if v == formValue(cfg, k) {
			continue
		}
		switch {
		case v == "" && cfg.Has(k):
			ch.Delete = append(ch.Delete, k)
		case v == "":
		case k == "tags":
			ch.Set[k] = strings.Join(lxc.SplitTags(v), ";")
		default:
			ch.Set[k] = v
		}
	}
	return ch
}

// describeChange says in words what a change did ("Memory: 512 → 1024 MiB").
func describeChange(ch lxc.ConfigChange, before lxc.Config) string {
	var parts []string
	keys := make([]string, 0, len(ch.Set))
	for k := range ch.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		label := fieldLabels[k]
		if label == "" {
			label = strings.ToUpper(k[:1]) + k[1:]
		}
		old := before.Get(k)
		switch {
		case k == "description":
			parts = append(parts, "Notes updated")
		case strings.HasPrefix(k, "net") && old == "":
			parts = append(parts, "Interface "+k+" added")
		case strings.HasPrefix(k, "net"):
			parts = append(parts, "Interface "+k+" changed")
		case old == "":
			parts = append(parts, fmt.Sprintf("%s set to %s", label, ch.Set[k]))
		default:
			parts = append(parts, fmt.Sprintf("%s: %s → %s", label, old, ch.Set[k]))
		}
	}
	for _, k := range ch.Delete {
		if strings.HasPrefix(k, "net") {
			parts = append(parts, "Interface "+k+" removed")
			continue
		}
		parts = append(parts, fieldLabels[k]+" reset to the default")
	}
	return strings.Join(parts, "; ")
}
