package web

import (
	"net/url"
	"reflect"
	"slices"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

func TestCheckValue(t *testing.T) {
	cases := []struct {
		key, value, want string
	}{
		{"memory", "512", ""},
		{"memory", "15", "Memory must be at least 16 MiB."},
		{"memory", "lots", "Memory must be a whole number."},
		{"memory", "", "Memory must be a whole number."},
		{"swap", "0", ""},
		{"swap", "-1", "Swap must be at least 0 MiB."},
		{"cores", "", ""},
		{"cores", "0", "Cores must be at least 1."},
		{"cores", "8193", "Cores must be at most 8192."},
		{"cpulimit", "1.5", ""},
		{"cpulimit", "-1", "CPU limit must be a number from 0 (no limit) to 8192."},
		{"cpuunits", "500001", "CPU units must be at most 500000."},
		{"hostname", "web-01.example.com", ""},
		{"hostname", "web_01", "Host name must be a DNS name: letters, digits and hyphens, labels separated by dots."},
		{"hostname", "-web", "Host name must be a DNS name: letters, digits and hyphens, labels separated by dots."},
		{"tags", "web prod_1 a.b", ""},
		{"tags", "ok -bad", `The tag "-bad" may hold only letters, digits and _ - + . (not at the start).`},
		{"nameserver", "1.1.1.1 2606:4700::1111", ""},
		{"nameserver", "1.1.1", `"1.1.1" is not an IP address.`},
		{"searchdomain", "example.com", ""},
		{"startup", "order=1,up=30,down=60", ""},
		{"startup", "up=30", ""},
		{"startup", "first", "Startup order is written order=N,up=N,down=N (each part optional), e.g. order=2,up=30."},
		{"cmode", "shell", ""},
		{"cmode", "vnc", "Choose tty, console or shell."},
	}
	for _, tc := range cases {
		if got := checkValue(tc.key, tc.value); got != tc.want {
			t.Errorf("checkValue(%q, %q) = %q, want %q", tc.key, tc.value, got, tc.want)
		}
	}
}

func testConfig() lxc.Config {
	return lxc.Config{Digest: "abc", Values: map[string]string{
		"memory": "512", "swap": "512", "cores": "1", "hostname": "web-01", "tags": "web;prod",
		"onboot": "1", "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
		"rootfs": "local-lvm:vm-101-disk-0,size=8G",
	}}
}

// TestSectionChangeSendsOnlyWhatChanged: unchanged keys stay out, an
// emptied key is deleted, tags are joined as PVE keeps them.
func TestSectionChangeSendsOnlyWhatChanged(t *testing.T) {
	cfg := testConfig()
	cases := []struct {
		section string
		form    url.Values
		set     map[string]string
		del     []string
	}{
		{secResources, url.Values{"memory": {"1024"}, "swap": {"512"}, "cores": {"1"}}, map[string]string{"memory": "1024"}, nil},
		{secResources, url.Values{"memory": {"512"}, "swap": {"512"}, "cores": {""}}, map[string]string{}, []string{"cores"}},
		{secGeneral, url.Values{"hostname": {"web-02"}, "tags": {"web  prod"}}, map[string]string{"hostname": "web-02"}, nil},
		{secGeneral, url.Values{"hostname": {"web-01"}, "tags": {"db"}}, map[string]string{"tags": "db"}, nil},
		{secOptions, url.Values{"cmode": {"tty"}}, map[string]string{"onboot": "0"}, nil},
		{secOptions, url.Values{"onboot": {"1"}, "protection": {"1"}, "cmode": {"tty"}}, map[string]string{"protection": "1"}, nil},
	}
	for _, tc := range cases {
		f := settingsFromConfig(cfg, containerCan{CPU: true, Memory: true, Network: true, Options: true})
		if !f.readSection(tc.section, tc.form) {
			t.Fatalf("%s %v: invalid: %+v", tc.section, tc.form, f.Fields)
		}
		ch := f.change(tc.section, cfg)
		if !reflect.DeepEqual(ch.Set, tc.set) || !slices.Equal(ch.Delete, tc.del) {
			t.Errorf("%s %v: set %v delete %v, want %v %v", tc.section, tc.form, ch.Set, ch.Delete, tc.set, tc.del)
		}
		if ch.Digest != "abc" {
			t.Errorf("digest %q", ch.Digest)
		}
	}
}

func TestInvalidSectionNamesTheField(t *testing.T) {
	f := settingsFromConfig(testConfig(), containerCan{Memory: true})
	if f.readSection(secResources, url.Values{"memory": {"8"}, "swap": {"512"}}) {
		t.Fatal("memory 8 accepted")
	}
	if got := f.F("memory").Error; got != "Memory must be at least 16 MiB." {
		t.Errorf("memory error %q", got)
	}
	if got := f.F("swap").Error; got != "" {
		t.Errorf("swap error %q", got)
	}
	if got := f.F("memory").Value; got != "8" {
		t.Errorf("the form lost the typed value: %q", got)
	}
}

// TestNetworkForm: an unchanged interface is not sent (order of items
// aside), the MAC address survives an edit, one is added in the lowest free
// slot, and one is removed.
func TestNetworkForm(t *testing.T) {
	cfg := testConfig()
	row := func(ip4, ip string) url.Values {
		return url.Values{"net": {"net0"}, "net0.name": {"eth0"}, "net0.bridge": {"vmbr0"}, "net0.ipv4": {ip4}, "net0.ip": {ip}, "net0.ipv6": {"none"}}
	}
	f := settingsFromConfig(cfg, containerCan{Network: true})
	if !f.readNetworks(row("dhcp", "")) {
		t.Fatalf("invalid: %+v", f.Nets)
	}
	if ch := f.change(secNetwork, cfg); !ch.Empty() {
		t.Errorf("unchanged interface sent: %+v", ch)
	}

	f = settingsFromConfig(cfg, containerCan{Network: true})
	form := row("static", "10.0.0.5/24")
	form.Set("net0.gw", "10.0.0.1")
	form.Set("new.name", "eth1")
	form.Set("new.bridge", "vmbr1")
	form.Set("new.ipv4", "dhcp")
	form.Set("new.ipv6", "auto")
	form.Set("new.tag", "20")
	if !f.readNetworks(form) {
		t.Fatalf("invalid: %+v %+v", f.Nets, f.NewNet)
	}
	ch := f.change(secNetwork, cfg)
	want0 := lxc.ParsePropertyString("name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,type=veth,ip=10.0.0.5/24")
	if got := lxc.ParsePropertyString(ch.Set["net0"]); !reflect.DeepEqual(got.Vals, want0.Vals) {
		t.Errorf("net0 = %q", ch.Set["net0"])
	}
	want1 := lxc.ParsePropertyString("name=eth1,bridge=vmbr1,ip=dhcp,ip6=auto,tag=20")
	if got := lxc.ParsePropertyString(ch.Set["net1"]); !reflect.DeepEqual(got.Vals, want1.Vals) {
		t.Errorf("net1 = %q", ch.Set["net1"])
	}

	f = settingsFromConfig(cfg, containerCan{Network: true})
	form = row("dhcp", "")
	form.Set("net0.remove", "1")
	if !f.readNetworks(form) {
		t.Fatal("invalid")
	}
	if ch := f.change(secNetwork, cfg); !slices.Equal(ch.Delete, []string{"net0"}) || len(ch.Set) != 0 {
		t.Errorf("remove: %+v", ch)
	}
}

func TestNetworkFormErrors(t *testing.T) {
	cases := []struct {
		field, value, errKey string
	}{
		{"ip", "10.0.0.5", "ip"},
		{"ip", "300.0.0.1/24", "ip"},
		{"gw", "192.168.9.1", "gw"},
		{"tag", "4095", "tag"},
		{"name", "eth 0", "name"},
		{"bridge", "", "bridge"},
		{"mtu", "10", "mtu"},
		{"rate", "fast", "rate"},
	}
	for _, tc := range cases {
		form := url.Values{"net": {"net0"}, "net0.name": {"eth0"}, "net0.bridge": {"vmbr0"}, "net0.ipv4": {"static"},
			"net0.ip": {"10.0.0.5/24"}, "net0.gw": {"10.0.0.1"}, "net0.ipv6": {"none"}}
		form.Set("net0."+tc.field, tc.value)
		f := settingsFromConfig(testConfig(), containerCan{Network: true})
		if f.readNetworks(form) {
			t.Errorf("%s=%q accepted", tc.field, tc.value)
			continue
		}
		if f.Nets[0].Errors[tc.errKey] == "" {
			t.Errorf("%s=%q: no error at %s: %v", tc.field, tc.value, tc.errKey, f.Nets[0].Errors)
		}
	}
}
