package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"net/url"
	"regexp"
	"testing"
)

// GET .../config and .../pending.

var digestRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

func TestConfigGet(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	got := e.config("root@pam", "pve1", 103, "")
	want := map[string]any{
		"arch": "amd64", "cores": float64(4), "hostname": "db-main", "memory": float64(8192), "swap": float64(1024),
		"ostype": "debian", "unprivileged": float64(1), "onboot": float64(1), "protection": float64(1),
		"tags": "db;prod", "startup": "order=1,up=30", "nameserver": "192.168.100.1", "searchdomain": "lab.example",
		"features": "nesting=1", "rootfs": "local-lvm:vm-103-disk-0,size=64G",
		// comments come back with a newline after each line, as in PVE
		"description": "Primary PostgreSQL 16.\n",
		"net0":        "name=eth0,bridge=vmbr0,firewall=1,gw=192.168.100.1,hwaddr=BC:24:11:5E:01:03,ip=192.168.100.103/24,type=veth",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want)+1 {
		t.Errorf("keys %v, want those of %v plus digest", got, want)
	}
	cc, err := e.sim.Config(103)
	if err != nil {
		t.Fatal(err)
	}
	if got["digest"] != cc.Digest || !digestRe.MatchString(cc.Digest) {
		t.Errorf("digest %v, control says %q", got["digest"], cc.Digest)
	}
	// cpulimit is a "number" option: PVE answers the string.
	if cpulimit := e.config("root@pam", "pve2", 111, "")["cpulimit"]; cpulimit != "1.5" {
		t.Errorf("cpulimit %#v, want the string \"1.5\"", cpulimit)
	}
	// The template's disk is a base volume.
	if rootfs := e.config("root@pam", "pve1", 9000, "")["rootfs"]; rootfs != "local-lvm:base-9000-disk-0,size=4G" {
		t.Errorf("template rootfs %v", rootfs)
	}
}

func TestConfigDigestIsSHA1OfTheFile(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	before := e.config("root@pam", "pve2", 109, "")["digest"]
	// Another user edits the file: the digest changes; the old one is
	// refused (see TestConfigPutErrors).
	mustDo(t, e.sim.SetConfig(109, "description", "a: 100%\nsecond line"))
	cc, _ := e.sim.Config(109)
	after := e.config("root@pam", "pve2", 109, "")
	if after["digest"] == before || after["digest"] != cc.Digest {
		t.Errorf("digest %v after an edit (before %v, control %v)", after["digest"], before, cc.Digest)
	}
	if after["description"] != "a: 100%\nsecond line\n" {
		t.Errorf("description %q", after["description"])
	}
	// The digest is the SHA-1 of the file, description first as encoded
	// comments, then the options sorted.
	raw := "#a%3A 100%25\n#second line\narch: amd64\ncores: 1\nfeatures: nesting=1\nhostname: stubborn-app\nmemory: 512\n" +
		"net0: " + cc.Values["net0"] + "\nostype: debian\nrootfs: local-lvm:vm-109-disk-0,size=8G\nswap: 512\n" +
		"tags: dev;legacy\nunprivileged: 1\n"
	sum := sha1.Sum([]byte(raw))
	if hex.EncodeToString(sum[:]) != cc.Digest {
		t.Errorf("digest %s is not the SHA-1 of\n%s", cc.Digest, raw)
	}
}

func TestConfigGetErrors(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	tests := []struct {
		name, user, path string
		code             int
		msg              string
		errors           map[string]string
	}{
		{name: "no such CT", user: "root@pam", path: ctPath("pve1", 4242, "/config"), code: 500,
			msg: "Configuration file 'nodes/pve1/lxc/4242.conf' does not exist"},
		{name: "CT on another node", user: "root@pam", path: ctPath("pve1", 106, "/config"), code: 500,
			msg: "Configuration file 'nodes/pve1/lxc/106.conf' does not exist"},
		{name: "a VM is no CT", user: "root@pam", path: ctPath("pve1", 100, "/config"), code: 500,
			msg: "Configuration file 'nodes/pve1/lxc/100.conf' does not exist"},
		{name: "permission before existence", user: "alice@pve", path: ctPath("pve1", 4242, "/config"), code: 403,
			msg: "Permission check failed (/vms/4242, VM.Audit)"},
		{name: "outside alice's pool", user: "alice@pve", path: ctPath("pve1", 101, "/config"), code: 403,
			msg: "Permission check failed (/vms/101, VM.Audit)"},
		{name: "no such snapshot", user: "root@pam", path: ctPath("pve3", 106, "/config?snapshot=before"), code: 500,
			msg: "snapshot 'before' does not exist"},
		{name: "snapshot and current", user: "root@pam", path: ctPath("pve3", 106, "/config?snapshot=x1&current=1"), code: 400,
			errors: map[string]string{"snapshot": "cannot use 'snapshot' parameter with 'current'",
				"current": "cannot use 'snapshot' parameter with 'current'"}},
		{name: "bad snapshot name", user: "root@pam", path: ctPath("pve3", 106, "/config?snapshot=1x"), code: 400,
			errors: map[string]string{"snapshot": "invalid format - invalid configuration ID '1x'\n"}},
		{name: "pending of a missing CT", user: "root@pam", path: ctPath("pve2", 4242, "/pending"), code: 500,
			msg: "Configuration file 'nodes/pve2/lxc/4242.conf' does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.get(tc.user, tc.path)
			if tc.errors != nil {
				res.wantParamErrors(t, tc.errors)
				return
			}
			res.wantError(t, tc.code, tc.msg)
		})
	}
	// alice may read the configuration of her pool's containers.
	if got := e.config("alice@pve", "pve3", 106, "")["hostname"]; got != "ci-runner-1" {
		t.Errorf("alice reads hostname %v", got)
	}
}

func TestPendingList(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	// 106 runs: arch cannot be hot-plugged, memory can; searchdomain
	// deletion waits for the next start.
	mustDo(t, e.sim.SetConfig(106, "searchdomain", "lab.example"))
	res := e.put("root@pam", ctPath("pve3", 106, "/config"),
		url.Values{"arch": {"arm64"}, "memory": {"2048"}, "delete": {"searchdomain"}, "cmode": {"shell"}})
	if res.data(t) != nil {
		t.Fatalf("PUT answered %s, want null", res.body)
	}
	byKey := map[string]map[string]any{}
	for _, e := range e.get("root@pam", ctPath("pve3", 106, "/pending")).list(t) {
		byKey[e["key"].(string)] = e
	}
	wantEntries := map[string]map[string]any{
		"arch":         {"key": "arch", "value": "amd64", "pending": "arm64"},
		"memory":       {"key": "memory", "value": float64(2048)},
		"searchdomain": {"key": "searchdomain", "value": "lab.example", "delete": float64(1)},
		"cmode":        {"key": "cmode", "pending": "shell"},
		"hostname":     {"key": "hostname", "value": "ci-runner-1"},
	}
	for k, want := range wantEntries {
		got := byKey[k]
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", k, got, want)
			continue
		}
		for f, v := range want {
			if got[f] != v {
				t.Errorf("%s.%s = %#v, want %#v", k, f, got[f], v)
			}
		}
	}
	if d, _ := byKey["digest"]["value"].(string); !digestRe.MatchString(d) {
		t.Errorf("pending lists digest %v", byKey["digest"])
	}
	// Merged view, current view.
	merged := e.config("root@pam", "pve3", 106, "")
	cur := e.config("root@pam", "pve3", 106, "?current=1")
	if merged["arch"] != "arm64" || merged["cmode"] != "shell" || merged["searchdomain"] != nil {
		t.Errorf("config with pending: %v", merged)
	}
	if cur["arch"] != "amd64" || cur["cmode"] != nil || cur["searchdomain"] != "lab.example" || cur["memory"] != float64(2048) {
		t.Errorf("current config: %v", cur)
	}
}
