package pvesim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

// Scenarios: prepared clusters selected with Options.Scenario.
//
// All of them share the realms of DefaultRealms, the users below
// (passwords as in a fresh lab) and the pools "dev" and "prod":
//
//	root@pam     "proxmox"       root, passes every check (no ACL entry needed)
//	alice@pve    "alice-pass"    PVEVMAdmin on /pool/dev, PVEDatastoreUser on
//	                             /storage/local and /storage/local-lvm, PVESDNUser
//	                             on /sdn/zones/localnetwork (all propagating):
//	                             she may create containers in pool dev only
//	auditor@pve  "auditor-pass"  PVEAuditor on / (propagating)
//	carol@corp   "carol-pass"    PVEAuditor on / (an LDAP realm user)
//	bob@pve      "bob-pass"      PVEVMUser on /pool/dev; TOTP (DemoTOTPSecret)
//	                             and the recovery keys DemoRecoveryKeys
//	erin@pve     "erin-pass"     PVEVMUser on /pool/dev; only a WebAuthn key,
//	                             so her sign-in can never be completed
//	dana@sso     (no password)   PVEAuditor on /pool/prod; signs in through
//	                             the simulator's OpenID provider as dana /
//	                             "dana-pass" (DefaultProviderUsers)
//
//   - "demo": nodes pve1, pve2, pve3 with the guests listed in DemoGuests.
//   - "empty": the same nodes, users and pools, no guests.
//   - "large": nodes pve01..pve20 and 10,000 containers (vmid 100..10099)
//     plus 40 QEMU VMs (vmid 20000..20039), about a third in pool "dev"
//     and a third in "prod", 70% running, every 1000th a template and
//     every 997th locked by a backup.

type scenarioACL struct {
	path, ugid, role string
}

type scenario struct {
	nodes  []string
	users  []User
	acls   []scenarioACL
	pools  []string
	guests func(s *Sim, now time.Time) error
}

// Scenarios returns the names Options.Scenario accepts.
func Scenarios() []string {
	return []string{"demo", "empty", "large"}
}

// ScenarioUsers returns the users a scenario brings, with their
// passwords and second factors: root@pam, alice@pve, auditor@pve,
// carol@corp, bob@pve, erin@pve and dana@sso (an OpenID user without a
// password) for the named scenarios, DefaultUsers
// for "" and nil for an unknown name. Options.Users may add to them or
// change their passwords.
func ScenarioUsers(scenario string) []User {
	if scenario == "" {
		return DefaultUsers()
	}
	sc, err := lookupScenario(scenario)
	if err != nil {
		return nil
	}
	return sc.users
}

// DemoTOTPSecret is the base32 TOTP secret of bob@pve in the named
// scenarios (RFC 6238: SHA-1, 6 digits, 30 s).
const DemoTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// DemoRecoveryKeys returns the ten recovery keys of bob@pve in the named
// scenarios, by index.
func DemoRecoveryKeys() []string {
	return []string{
		"d470-94c5-4d3c-d70f", "aeb1-a8cf-7377-b37b", "a3f6-44b6-e335-ba6d", "0e3a-57d6-36dc-d449",
		"95ea-9bbb-a203-d7aa", "b47c-54c3-30ef-d5c2", "3017-cd93-6903-7213", "a55b-e40f-f4de-31e5",
		"c8c4-0a5c-e4bd-4833", "77d7-a132-b1aa-9cd2",
	}
}

func scenarioUsers() []User {
	return []User{
		{ID: "root@pam", Password: "proxmox"},
		{ID: "alice@pve", Password: "alice-pass"},
		{ID: "auditor@pve", Password: "auditor-pass"},
		{ID: "carol@corp", Password: "carol-pass"},
		{ID: "bob@pve", Password: "bob-pass", TOTPSecret: DemoTOTPSecret, RecoveryKeys: DemoRecoveryKeys()},
		{ID: "erin@pve", Password: "erin-pass", WebAuthn: true},
		{ID: "dana@sso"},
	}
}

func scenarioACLs() []scenarioACL {
	return []scenarioACL{
		{"/pool/dev", "alice@pve", "PVEVMAdmin"},
		{"/storage/local", "alice@pve", "PVEDatastoreUser"},
		{"/storage/local-lvm", "alice@pve", "PVEDatastoreUser"},
		{"/sdn/zones/localnetwork", "alice@pve", "PVESDNUser"},
		{"/", "auditor@pve", "PVEAuditor"},
		{"/", "carol@corp", "PVEAuditor"},
		{"/pool/dev", "bob@pve", "PVEVMUser"},
		{"/pool/dev", "erin@pve", "PVEVMUser"},
		{"/pool/prod", "dana@sso", "PVEAuditor"},
	}
}

// lookupScenario returns the scenario called name; nil for "".
func lookupScenario(name string) (*scenario, error) {
	switch name {
	case "":
		return nil, nil
	case "demo":
		return &scenario{nodes: DefaultNodes(), users: scenarioUsers(), acls: scenarioACLs(),
			pools: []string{"dev", "prod"}, guests: addDemoGuests}, nil
	case "empty":
		return &scenario{nodes: DefaultNodes(), users: scenarioUsers(), acls: scenarioACLs(),
			pools: []string{"dev", "prod"}}, nil
	case "large":
		names := make([]string, 20)
		for i := range names {
			names[i] = fmt.Sprintf("pve%02d", i+1)
		}
		return &scenario{nodes: names, users: scenarioUsers(), acls: scenarioACLs(),
			pools: []string{"dev", "prod"}, guests: addLargeGuests}, nil
	}
	return nil, fmt.Errorf("pvesim: unknown scenario %q (want one of %s)", name, strings.Join(Scenarios(), ", "))
}

// build applies the scenario to a freshly created Sim (users and nodes
// already exist).
func (sc *scenario) build(s *Sim) error {
	for _, p := range sc.pools {
		s.cluster.Pools[p] = true
	}
	for _, a := range sc.acls {
		if err := s.SetACL(a.path, a.ugid, a.role, true); err != nil {
			return err
		}
	}
	seedStorage(s)
	if sc.guests == nil {
		return nil
	}
	return sc.guests(s, s.now())
}

// DemoGuests returns the guests of the "demo" scenario: 13 containers
// (one of them a template) and two QEMU VMs on pve1..pve3.
func DemoGuests() []Guest {
	h := time.Hour
	d := 24 * h
	return []Guest{
		{VMID: 100, Type: "qemu", Name: "gw-opnsense", Node: "pve1", Status: "running", Tags: "infra;network",
			Cores: 2, MemoryMiB: 2048, DiskGiB: 16, Uptime: 41*d + 3*h},
		{VMID: 101, Name: "web-01", Node: "pve1", Pool: "prod", Status: "running", Tags: "prod;web",
			Cores: 2, MemoryMiB: 2048, SwapMiB: 512, DiskGiB: 16, Uptime: 19*d + 4*h},
		{VMID: 102, Name: "web-02", Node: "pve2", Pool: "prod", Status: "running", Tags: "prod;web",
			Cores: 2, MemoryMiB: 2048, SwapMiB: 512, DiskGiB: 16, Uptime: 19*d + 3*h},
		{VMID: 103, Name: "db-main", Node: "pve1", Pool: "prod", Status: "running", Tags: "db;prod",
			Cores: 4, MemoryMiB: 8192, SwapMiB: 1024, DiskGiB: 64, Uptime: 33*d + 7*h},
		{VMID: 104, Name: "db-replica", Node: "pve2", Pool: "prod", Status: "running", Tags: "db;prod",
			Cores: 4, MemoryMiB: 8192, SwapMiB: 1024, DiskGiB: 64, Uptime: 12*d + 21*h},
		{VMID: 105, Name: "cache-redis", Node: "pve3", Pool: "prod", Status: "running", Tags: "cache;prod",
			Cores: 2, MemoryMiB: 4096, SwapMiB: 0, DiskGiB: 8, Uptime: 5*d + 2*h},
		{VMID: 106, Name: "ci-runner-1", Node: "pve3", Pool: "dev", Status: "running", Tags: "ci;dev",
			Cores: 4, MemoryMiB: 4096, SwapMiB: 512, DiskGiB: 32, Uptime: 2*h + 17*time.Minute},
		{VMID: 107, Name: "ci-runner-2", Node: "pve3", Pool: "dev", Status: "stopped", Tags: "ci;dev",
			Cores: 4, MemoryMiB: 4096, SwapMiB: 512, DiskGiB: 32},
		{VMID: 108, Name: "dev-sandbox", Node: "pve1", Pool: "dev", Status: "stopped", Tags: "dev",
			Cores: 1, MemoryMiB: 1024, SwapMiB: 512, DiskGiB: 8},
		{VMID: 109, Name: "stubborn-app", Node: "pve2", Pool: "dev", Status: "running", Tags: "dev;legacy",
			Cores: 1, MemoryMiB: 512, SwapMiB: 512, DiskGiB: 8, Uptime: 8*d + 11*h, IgnoreShutdown: true},
		{VMID: 110, Name: "backup-proxy", Node: "pve1", Status: "running", Tags: "infra", Lock: "backup",
			Cores: 2, MemoryMiB: 1024, SwapMiB: 512, DiskGiB: 8, Uptime: 27*d + 5*h},
		{VMID: 111, Name: "monitoring", Node: "pve2", Status: "running", Tags: "infra;monitoring",
			Cores: 2, MemoryMiB: 3072, SwapMiB: 512, DiskGiB: 32, Uptime: 27*d + 5*h},
		{VMID: 112, Name: "mail-relay", Node: "pve3", Pool: "prod", Status: "stopped", Tags: "mail;prod",
			Cores: 1, MemoryMiB: 512, SwapMiB: 512, DiskGiB: 8},
		{VMID: 150, Type: "qemu", Name: "win11-desktop", Node: "pve2", Pool: "dev", Status: "stopped", Tags: "dev;windows",
			Cores: 4, MemoryMiB: 8192, DiskGiB: 64},
		{VMID: 9000, Name: "debian-12-template", Node: "pve1", Status: "stopped", Template: true, Tags: "template",
			Cores: 1, MemoryMiB: 512, SwapMiB: 512, DiskGiB: 4},
	}
}

func addDemoGuests(s *Sim, now time.Time) error {
	for _, g := range DemoGuests() {
		ng, err := s.cluster.NewGuest(state.Spec(g), now)
		if err != nil {
			return fmt.Errorf("pvesim: %w", err)
		}
		ng.Created = now.Add(-365 * 24 * time.Hour)
		s.cluster.Insert(ng)
	}
	for _, o := range demoOptions() {
		s.cluster.SetOption(s.cluster.Guests[o.vmid], o.key, o.value)
	}
	return addDemoSnapshots(s, now)
}

// demoOptions are configuration options some demo containers have beyond
// what a Guest describes.
func demoOptions() []struct {
	vmid       int
	key, value string
} {
	return []struct {
		vmid       int
		key, value string
	}{
		{101, "description", "Public web front end (nginx, php-fpm).\nDeployed by the CI pipeline.\n"},
		{101, "onboot", "1"},
		{101, "startup", "order=2"},
		{102, "onboot", "1"},
		{102, "startup", "order=2"},
		{103, "description", "Primary PostgreSQL 16.\n"},
		{103, "onboot", "1"},
		{103, "startup", "order=1,up=30"},
		{103, "protection", "1"},
		{103, "net0", "name=eth0,bridge=vmbr0,firewall=1,gw=192.168.100.1,hwaddr=BC:24:11:5E:01:03,ip=192.168.100.103/24,type=veth"},
		{103, "nameserver", "192.168.100.1"},
		{103, "searchdomain", "lab.example"},
		{109, "description", "Legacy app: ignores SIGPWR, stop it instead of shutting it down.\n"},
		{111, "cpulimit", "1.5"},
		{111, "onboot", "1"},
	}
}

// largeRoles name the containers of the "large" scenario.
var largeRoles = []string{"web", "api", "db", "cache", "worker", "queue", "search", "ci-runner", "monitor", "proxy"}

// addLargeGuests builds 10,000 containers and 40 VMs directly (no
// per-guest validation, one sort) so that New stays well under a second.
func addLargeGuests(s *Sim, now time.Time) error {
	const cts, vms = 10000, 40
	created := now.Add(-365 * 24 * time.Hour)
	pools := [3]string{"dev", "prod", ""}
	tagsets := make([]string, len(largeRoles)*3)
	for r, role := range largeRoles {
		for p := range pools {
			tags := role
			if pools[p] != "" {
				tags = joinTags(role, pools[p])
			}
			tagsets[r*3+p] = tags
		}
	}
	all := make([]state.Guest, cts+vms)
	c := s.cluster
	c.Order = make([]*state.Guest, 0, cts+vms)
	for i := range all {
		g := &all[i]
		n := c.Nodes[i%len(c.Nodes)]
		vmid := 100 + i
		typ := "lxc"
		name := ""
		if i >= cts {
			vmid = 20000 + i - cts
			typ = "qemu"
			name = "vm-" + strconv.Itoa(vmid)
		}
		role := (i / 7) % len(largeRoles)
		pool := i % 3
		if name == "" {
			name = largeRoles[role] + "-" + fmt.Sprintf("%05d", vmid)
		}
		seed := state.GuestSeed(vmid)
		*g = state.Guest{
			VMID:      vmid,
			ID:        strconv.Itoa(vmid),
			Type:      typ,
			Node:      n,
			Name:      name,
			Tags:      tagsets[role*3+pool],
			Pool:      pools[pool],
			Cores:     1 << (seed % 3),
			MemMiB:    512 << ((seed >> 8) % 4),
			SwapMiB:   512,
			DiskBytes: int64(8<<((seed>>16)%3)) * state.GiB,
			Seed:      seed,
			Created:   created,
		}
		switch {
		case typ == "lxc" && i%1000 == 999:
			g.Template = true
		case state.Unit(seed, 99) < 0.7:
			g.Cur = state.GuestState{Running: true, Starts: 1,
				StartedAt: now.Add(-time.Duration(600+seed%(90*86400)) * time.Second)}
		}
		if typ == "lxc" && i%997 == 996 {
			g.Lock = "backup"
		}
		g.Base = g.Cur
		c.Guests[vmid] = g
		c.Order = append(c.Order, g)
	}
	c.SortOrder()
	return nil
}

// joinTags joins tags the way the GUI writes them: sorted, ';'-separated.
func joinTags(tags ...string) string {
	sort.Strings(tags)
	return strings.Join(tags, ";")
}
