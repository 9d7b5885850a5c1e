package pvesim

import (
	"net/http"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// A node's network interfaces (pve-manager API2/Network.pm index): two
// ports, vmbr0 on the first (the node's address) and a VLAN-aware vmbr1
// on the second. Bridges are listed only to root@pam and to users with
// SDN.Audit or SDN.Use on /sdn/zones/localnetwork/<bridge> (or on one of
// its VLANs); no SDN vnets exist.

func (s *Sim) networkRoutes(rr *router) {
	types := []string{"bridge", "bond", "eth", "alias", "vlan"}
	if s.versionAtLeast(9, 0, 0) {
		types = append(types, "fabric")
	}
	types = append(types, "OVSBridge", "OVSBond", "OVSPort", "OVSIntPort", "vnet", "any_bridge", "any_local_bridge")
	if s.versionAtLeast(9, 0, 0) {
		types = append(types, "include_sdn")
	}
	rr.add(&route{
		name: "index", method: http.MethodGet, path: "/nodes/{node}/network",
		allowToken: true, proxyTo: "node",
		params: schema{"node": nodeParam, "type": {Type: "string", Optional: true, Enum: types}},
		fn:     s.listNetwork,
	})
}

// nodeInterfaces is the node's /etc/network/interfaces, by name.
func nodeInterfaces(n *state.Node) []map[string]any {
	port := func(name string, prio int) map[string]any {
		return map[string]any{"iface": name, "type": "eth", "method": "manual", "method6": "manual",
			"families": []string{"inet"}, "active": 1, "exists": 1, "priority": prio}
	}
	return []map[string]any{
		port("eno1", 3),
		port("eno2", 4),
		{"iface": "vmbr0", "type": "bridge", "method": "static", "method6": "manual", "families": []string{"inet"},
			"address": n.IP, "netmask": "24", "cidr": n.IP + "/24", "gateway": "192.168.100.1",
			"bridge_ports": "eno1", "bridge_stp": "off", "bridge_fd": "0", "autostart": 1, "active": 1, "priority": 5},
		{"iface": "vmbr1", "type": "bridge", "method": "manual", "method6": "manual", "families": []string{"inet"},
			"bridge_ports": "eno2", "bridge_stp": "off", "bridge_fd": "0", "bridge_vlan_aware": 1,
			"bridge_vids": "2-4094", "autostart": 1, "active": 1, "priority": 6,
			"comments": "VLAN trunk\n"},
	}
}

// listNetwork is GET /nodes/{node}/network.
func (s *Sim) listNetwork(c *call) (any, error) {
	filter, _ := c.params.str("type")
	out := []map[string]any{}
	for _, ifc := range nodeInterfaces(c.node) {
		typ := ifc["type"].(string)
		bridge := typ == "bridge" || typ == "OVSBridge"
		if filter != "" && filter != "include_sdn" && filter != typ &&
			!(bridge && (filter == "any_bridge" || filter == "any_local_bridge")) {
			continue
		}
		if bridge && !s.canSeeBridge(c.user, ifc["iface"].(string)) {
			continue
		}
		out = append(out, ifc)
	}
	return out, nil
}

// canSeeBridge is check_sdn_bridge with SDN.Audit or SDN.Use: on the
// bridge, or on any VLAN below it that has an ACL entry.
func (s *Sim) canSeeBridge(user, bridge string) bool {
	if user == rootUser {
		return true
	}
	path := "/sdn/zones/localnetwork/" + bridge
	if s.acl.CheckAny(user, path, "SDN.Audit", "SDN.Use") == nil {
		return true
	}
	for _, p := range s.acl.Paths() {
		if strings.HasPrefix(p, path+"/") && !strings.Contains(p[len(path)+1:], "/") &&
			s.acl.CheckAny(user, p, "SDN.Audit", "SDN.Use") == nil {
			return true
		}
	}
	return false
}
