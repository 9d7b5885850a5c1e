package pvesim

import (
	"net/url"
	"testing"
)

// Who may change which option (check_ct_modify_config_perm).

func TestConfigPutPermissions(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	// dave administers the containers of pool dev; mem only has
	// VM.Config.Memory on 107; net has VM.Config.Network (and SDN.Use
	// on vmbr0) on 107.
	e.addUser("dave@pve", "PVEVMAdmin", "/pool/dev")
	e.addUser("vmuser@pve", "PVEVMUser", "/pool/dev")
	mustDo(t, e.sim.AddRole("MemOnly", "VM.Config.Memory", "VM.Audit"))
	e.addUser("mem@pve", "MemOnly", "/vms/107")
	mustDo(t, e.sim.AddRole("NetOnly", "VM.Config.Network"))
	e.addUser("net@pve", "NetOnly", "/vms/107")
	mustDo(t, e.sim.AddRole("Bridge", "SDN.Use"))
	mustDo(t, e.sim.SetACL("/sdn/zones/localnetwork/vmbr0", "net@pve", "Bridge", true))

	const any5 = "VM.Config.Disk|VM.Config.CPU|VM.Config.Memory|VM.Config.Network|VM.Config.Options"
	tests := []struct {
		name, user string
		node       string
		vmid       int
		form       url.Values
		msg        string // "" for success
	}{
		{"a VM user has no config privilege", "vmuser@pve", "pve3", 107, url.Values{"memory": {"1024"}},
			"Permission check failed (/vms/107, " + any5 + ")"},
		{"nor for a missing CT", "vmuser@pve", "pve3", 4242, url.Values{"memory": {"1024"}},
			"Permission check failed (/vms/4242, " + any5 + ")"},
		{"dave in his pool", "dave@pve", "pve3", 107, url.Values{"memory": {"1024"}, "cores": {"2"}, "onboot": {"1"}}, ""},
		{"dave outside his pool", "dave@pve", "pve1", 101, url.Values{"memory": {"1024"}},
			"Permission check failed (/vms/101, " + any5 + ")"},
		{"memory with the memory privilege", "mem@pve", "pve3", 107, url.Values{"memory": {"768"}, "swap": {"256"}}, ""},
		{"cores need VM.Config.CPU", "mem@pve", "pve3", 107, url.Values{"cores": {"3"}},
			"Permission check failed (/vms/107, VM.Config.CPU)"},
		{"hostname needs VM.Config.Network", "mem@pve", "pve3", 107, url.Values{"hostname": {"x"}},
			"Permission check failed (/vms/107, VM.Config.Network)"},
		{"onboot needs VM.Config.Options", "mem@pve", "pve3", 107, url.Values{"onboot": {"1"}},
			"Permission check failed (/vms/107, VM.Config.Options)"},
		{"deleting needs the same", "mem@pve", "pve3", 107, url.Values{"delete": {"tags"}},
			"Permission check failed (/vms/107, VM.Config.Options)"},
		{"rootfs needs VM.Config.Disk", "mem@pve", "pve3", 107, url.Values{"rootfs": {"local-lvm:vm-107-disk-0,size=32G"}},
			"Permission check failed (/vms/107, VM.Config.Disk)"},
		{"interface on a permitted bridge", "net@pve", "pve3", 107,
			url.Values{"net1": {"name=eth1,bridge=vmbr0,ip=dhcp"}, "hostname": {"ci-2"}}, ""},
		{"interface on another bridge", "net@pve", "pve3", 107, url.Values{"net2": {"name=eth2,bridge=vmbr1"}},
			"Permission check failed (/sdn/zones/localnetwork/vmbr1, SDN.Use)"},
		{"a VLAN needs its own SDN.Use... or the propagated bridge one", "net@pve", "pve3", 107,
			url.Values{"net3": {"name=eth3,bridge=vmbr0,tag=20"}}, ""},
		{"dave has no SDN.Use", "dave@pve", "pve3", 106, url.Values{"net1": {"name=eth1,bridge=vmbr0"}},
			"Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)"},
		{"devices are root's", "dave@pve", "pve3", 107, url.Values{"dev0": {"/dev/ttyUSB0"}},
			"Permission check failed (configuring device passthrough is only allowed for root@pam)"},
		{"feature flags but nesting are root's", "dave@pve", "pve3", 107, url.Values{"features": {"nesting=1,fuse=1"}},
			"Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)"},
		{"nesting with VM.Allocate", "dave@pve", "pve3", 107, url.Values{"features": {"nesting=0"}}, ""},
		{"nesting needs VM.Allocate", "mem@pve", "pve3", 107, url.Values{"features": {"nesting=1"}},
			"Permission check failed (/vms/107, VM.Allocate)"},
		{"the hookscript is root's", "dave@pve", "pve3", 107, url.Values{"hookscript": {"local:snippets/x.pl"}},
			"Permission check failed (changing the hookscript is only allowed for root@pam)"},
		{"bind mounts are root's", "dave@pve", "pve3", 107, url.Values{"mp0": {"/srv/data,mp=/data"}},
			"Permission check failed (mount point type bind is only allowed for root@pam)"},
		{"a new disk needs Datastore.AllocateSpace", "dave@pve", "pve3", 107, url.Values{"mp0": {"local-lvm:8,mp=/data"}},
			"Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)"},
		{"root may do all of it", "root@pam", "pve3", 107, url.Values{"mp0": {"local-lvm:8,mp=/data"}, "dev0": {"/dev/ttyUSB0"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.sim.Config(tc.vmid)
			res := e.put(tc.user, ctPath(tc.node, tc.vmid, "/config"), tc.form)
			after, _ := e.sim.Config(tc.vmid)
			if tc.msg == "" {
				if res.data(t) != nil {
					t.Errorf("answer %s", res.body)
				}
				for k, v := range tc.form {
					if after.Values[k] == "" && after.Pending[k] == "" && k != "delete" {
						t.Errorf("%s=%s was not stored: %v", k, v[0], after.Values)
					}
				}
				return
			}
			res.wantError(t, 403, tc.msg)
			if after.Digest != before.Digest {
				t.Error("a refused PUT changed the file")
			}
		})
	}
	// root's new disk became a volume of the container.
	if cc, _ := e.sim.Config(107); cc.Values["mp0"] != "local-lvm:vm-107-disk-1,mp=/data,size=8G" {
		t.Errorf("mp0 = %q", cc.Values["mp0"])
	}
}
