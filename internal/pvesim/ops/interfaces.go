package ops

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// The interfaces of a running container (pve-container LXC.pm
// get_interfaces: "ip --json a" in its network namespace).

// IPAddress is one address of an interface.
type IPAddress struct {
	Type    string `json:"ip-address-type"` // "inet" or "inet6"
	Address string `json:"ip-address"`
	Prefix  int    `json:"prefix"`
}

// Interface is one element of GET .../interfaces.
type Interface struct {
	Name            string      `json:"name"`
	HWAddr          string      `json:"hwaddr"`
	HardwareAddress string      `json:"hardware-address"`
	Inet            string      `json:"inet,omitempty"`
	Inet6           string      `json:"inet6,omitempty"`
	Addresses       []IPAddress `json:"ip-addresses"`
}

func (i *Interface) add(typ, addr string, prefix int) {
	i.Addresses = append(i.Addresses, IPAddress{Type: typ, Address: addr, Prefix: prefix})
	cidr := addr + "/" + strconv.Itoa(prefix)
	if typ == "inet" {
		i.Inet = cidr
	} else {
		i.Inet6 = cidr
	}
}

// Interfaces is GET .../interfaces: nil (JSON null) unless the container
// runs on the caller's node, as PVE swallows lxc-info's error; PVE does
// not even check that the container exists.
func (o *Ops) Interfaces(c Caller, vmid string) []Interface {
	g := o.Cluster.LocalCT(c.Node, vmid)
	if g == nil || !g.Cur.Running {
		return nil
	}
	lo := Interface{Name: "lo", HWAddr: "00:00:00:00:00:00", HardwareAddress: "00:00:00:00:00:00"}
	lo.add("inet", "127.0.0.1", 8)
	lo.add("inet6", "::1", 128)
	out := []Interface{lo}
	values := o.Cluster.ConfOf(g).Values
	for n := 0; n < state.MaxNetworks; n++ {
		raw, ok := values["net"+strconv.Itoa(n)]
		if !ok {
			continue
		}
		net, err := js.ParsePropertyString(state.NetFormat, raw, "", js.Base())
		if err != nil {
			continue
		}
		mac := strings.ToLower(net["hwaddr"])
		i := Interface{Name: net["name"], HWAddr: mac, HardwareAddress: mac}
		switch ip := net["ip"]; {
		case ip == "dhcp":
			i.add("inet", fmt.Sprintf("192.168.%d.%d", 100+n, 100+int(g.Seed%150)), 24)
		case ip != "" && ip != "manual":
			addr, bits, _ := strings.Cut(ip, "/")
			p, _ := strconv.Atoi(bits)
			i.add("inet", addr, p)
		}
		switch ip6 := net["ip6"]; {
		case ip6 == "auto" || ip6 == "dhcp":
			i.add("inet6", "2001:db8:"+strconv.FormatInt(int64(100+n), 16)+"::"+eui64(mac), 64)
		case ip6 != "" && ip6 != "manual":
			addr, bits, _ := strings.Cut(ip6, "/")
			p, _ := strconv.Atoi(bits)
			i.add("inet6", addr, p)
		}
		i.add("inet6", "fe80::"+eui64(mac), 64)
		out = append(out, i)
	}
	return out
}

// eui64 is the interface identifier SLAAC derives from a MAC address.
func eui64(mac string) string {
	var b [8]byte
	parts := strings.Split(mac, ":")
	if len(parts) != 6 {
		return "1"
	}
	var m [6]byte
	for k, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return "1"
		}
		m[k] = byte(v)
	}
	b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = m[0]^2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]
	var a [16]byte
	copy(a[8:], b[:])
	s := netip.AddrFrom16(a).String() // "::xxxx:xxxx:xxxx:xxxx"
	return strings.TrimPrefix(s, "::")
}
