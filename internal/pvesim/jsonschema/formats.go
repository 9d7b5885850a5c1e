package jsonschema

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Registry maps a registered format name to its verifier, which returns
// PVE's die message (with the trailing "\n") or "".
type Registry map[string]func(string) string

// With returns a copy of r with extra formats added.
func (r Registry) With(extra Registry) Registry {
	out := make(Registry, len(r)+len(extra))
	for k, v := range r {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// Check is JSONSchema::check_format for a named format, with the "-list"
// and "-opt" variants.
func (r Registry) Check(format, value string) string {
	name, kind := format, ""
	if strings.HasSuffix(format, "-list") {
		name, kind = strings.TrimSuffix(format, "-list"), "list"
	} else if strings.HasSuffix(format, "-opt") {
		name, kind = strings.TrimSuffix(format, "-opt"), "opt"
	}
	fn, ok := r[name]
	if !ok {
		return fmt.Sprintf("undefined format '%s'\n", format)
	}
	switch kind {
	case "list":
		for _, v := range perl.SplitList(value) {
			if msg := fn(v); msg != "" {
				return msg
			}
		}
	case "opt":
		if value != "" {
			return fn(value)
		}
	default:
		return fn(value)
	}
	return ""
}

var (
	realmRe       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)
	nodeNameRe    = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$`)
	vmidRe        = regexp.MustCompile(`^[1-9][0-9]{2,8}$`)
	configIDRe    = regexp.MustCompile(`^(?i)[a-z][a-z0-9_-]+$`)
	dnsNameRe     = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?))*$`)
	tagRe         = regexp.MustCompile(`^(?i)[a-z0-9_][a-z0-9_\-+.]*$`)
	macRe         = regexp.MustCompile(`^(?i)[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$`)
	volumeIDRe    = regexp.MustCompile(`^(?i)([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$`)
	ifaceRe       = regexp.MustCompile(`^(?i)[a-z][a-z0-9_]{1,20}([:.]\d+)?$`)
	startupPartRe = regexp.MustCompile(`^(?:(?:order=)?\d+|up=\d+|down=\d+)$`)
	timezoneRe    = regexp.MustCompile(`^[A-Z][A-Za-z_+\-]*(?:/[A-Za-z0-9_+\-]+){1,2}$`)
	mpBadRe       = regexp.MustCompile(`/\.\.?/|/\.\.?$|^\.\./`)
	devBadRe      = regexp.MustCompile(`/\.\.?(?:/|$)`)
	sizeRe        = regexp.MustCompile(`^(\d+(\.\d+)?)([KMGT](?:iB)?)?$`)
)

func re(r *regexp.Regexp, msg string) func(string) string {
	return func(v string) string {
		if !r.MatchString(v) {
			return msg
		}
		return ""
	}
}

// ip parses a plain IP address (no zone) of the given family (4, 6 or 0
// for either).
func ip(v string, family int) bool {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return false
	}
	switch family {
	case 4:
		return a.Is4()
	case 6:
		return a.Is6()
	}
	return true
}

// cidr is pve_verify_cidrv4/6: an address and a prefix length above 7.
func cidr(v string, family, maxBits int) bool {
	addr, bits, ok := strings.Cut(v, "/")
	if !ok || !ip(addr, family) {
		return false
	}
	n, err := strconv.Atoi(bits)
	return err == nil && strconv.Itoa(n) == bits && n > 7 && n <= maxBits
}

// Base returns the registered formats the simulator knows (the callers
// add the ones that need user or privilege tables).
func Base() Registry {
	return Registry{
		"pve-realm":    re(realmRe, "value does not look like a valid realm\n"),
		"pve-node":     re(nodeNameRe, "value does not look like a valid node name\n"),
		"pve-vmid":     re(vmidRe, "value does not look like a valid VM ID\n"),
		"pve-configid": func(v string) string { return reMsg(configIDRe, v, "invalid configuration ID '%s'\n") },
		"dns-name":     re(dnsNameRe, "value does not look like a valid DNS name\n"),
		"pve-tag":      re(tagRe, "invalid characters in tag\n"),
		"mac-addr":     re(macRe, "value does not look like a valid unicast MAC address\n"),
		"pve-volume-id": func(v string) string {
			return reMsg(volumeIDRe, v, "unable to parse volume ID '%s'\n")
		},
		"ipv4": func(v string) string { return ipMsg(ip(v, 4), "value does not look like a valid IPv4 address\n") },
		"ipv6": func(v string) string { return ipMsg(ip(v, 6), "value does not look like a valid IPv6 address\n") },
		"ip":   func(v string) string { return ipMsg(ip(v, 0), "value does not look like a valid IP address\n") },
		"pve-ipv4-config": func(v string) string {
			return ipMsg(v == "dhcp" || v == "manual" || cidr(v, 4, 32), "value does not look like a valid ipv4 network configuration\n")
		},
		"pve-ipv6-config": func(v string) string {
			return ipMsg(v == "auto" || v == "dhcp" || v == "manual" || cidr(v, 6, 128), "value does not look like a valid ipv6 network configuration\n")
		},
		"lxc-ip-with-ll-iface": verifyIPWithLLIface,
		"pve-startup-order":    verifyStartupOrder,
		"pve-ct-timezone":      verifyTimezone,
		"disk-size": func(v string) string {
			if _, ok := ParseSize(v); !ok {
				return fmt.Sprintf("value does not look like a valid disk size: %s\n", v)
			}
			return ""
		},
		"pve-lxc-mp-string": func(v string) string {
			if mpBadRe.MatchString(v) {
				return fmt.Sprintf("%s contains illegal character sequences\n", v)
			}
			return ""
		},
		"pve-lxc-dev-string": func(v string) string {
			if devBadRe.MatchString(v) || !strings.HasPrefix(v, "/dev/") {
				return fmt.Sprintf("%s is not a valid device path\n", v)
			}
			return ""
		},
		"pve-task-status-type": func(v string) string {
			switch strings.ToLower(v) {
			case "ok", "error", "warning", "unknown":
				return ""
			}
			return fmt.Sprintf("invalid status '%s'\n", v)
		},
	}
}

func reMsg(r *regexp.Regexp, v, format string) string {
	if !r.MatchString(v) {
		return fmt.Sprintf(format, v)
	}
	return ""
}

func ipMsg(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

// verifyIPWithLLIface is pve-container's lxc-ip-with-ll-iface: an IP
// address, or a link-local IPv6 address with "%<interface>".
func verifyIPWithLLIface(v string) string {
	if addr, iface, ok := strings.Cut(v, "%"); ok && strings.HasPrefix(addr, "fe80:") {
		if ip(addr, 0) && ifaceRe.MatchString(iface) {
			return ""
		}
	}
	return ipMsg(ip(v, 0), "value does not look like a valid IP address\n")
}

// verifyStartupOrder is pve-startup-order ("[[order=]N][,up=N][,down=N]").
func verifyStartupOrder(v string) string {
	ok := v != "" && v != "0"
	for _, p := range strings.Split(v, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if !startupPartRe.MatchString(p) {
			ok = false
		}
	}
	if !ok {
		return "unable to parse startup options\n"
	}
	return ""
}

// verifyTimezone is pve-ct-timezone: "host", "UTC" or a zone of the tz
// database (as far as this machine's copy knows it).
func verifyTimezone(v string) string {
	if v == "host" || v == "UTC" {
		return ""
	}
	if timezoneRe.MatchString(v) {
		if _, err := time.LoadLocation(v); err == nil {
			return ""
		}
	}
	return fmt.Sprintf("invalid time zone '%s'\n", v)
}

// ParseSize is JSONSchema::parse_size: a number of bytes with an optional
// unit K, M, G or T (also KiB ... TiB), truncated to an integer.
func ParseSize(v string) (int64, bool) {
	m := sizeRe.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch strings.TrimSuffix(m[3], "iB") {
	case "K":
		f *= 1 << 10
	case "M":
		f *= 1 << 20
	case "G":
		f *= 1 << 30
	case "T":
		f *= 1 << 40
	}
	return int64(f), true
}

// FormatSize is JSONSchema::format_size: the largest unit that divides
// the size.
func FormatSize(size int64) string {
	units := []string{"K", "M", "G", "T"}
	if size%1024 != 0 {
		return strconv.FormatInt(size, 10)
	}
	v := size / 1024
	for i, u := range units {
		if i == len(units)-1 || v%1024 != 0 {
			return strconv.FormatInt(v, 10) + u
		}
		v /= 1024
	}
	return strconv.FormatInt(size, 10)
}
