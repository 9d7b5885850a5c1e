package jsonschema

import (
	"reflect"
	"testing"
)

var testFormat = PropFormat{
	"volume": {Type: "string", DefaultKey: true},
	"size":   {Type: "string", Optional: true, Format: "disk-size"},
	"ro":     {Type: "boolean", Optional: true},
	"mp":     {Type: "string"},
}

func TestParsePropertyString(t *testing.T) {
	reg := Base()
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"local:1,mp=/x,ro=yes", map[string]string{"volume": "local:1", "mp": "/x", "ro": "1"}, ""},
		{"mp=/x,volume=a,size=8G,", map[string]string{"volume": "a", "mp": "/x", "size": "8G"}, ""},
		{"a,b", nil, "duplicate key in comma-separated list property: volume\n"},
		{"a,mp=/x,mp=/y", nil, "duplicate key in comma-separated list property: mp\n"},
		{"a,mp=/x,speed=1", nil, "invalid key in comma-separated list property: speed\n"},
		{"a,mp=", nil, "missing key in comma-separated list property\n"},
		{"a,ro=maybe,size=big", nil, "format error\nmp0.mp: property is missing and it is not optional\n" +
			"mp0.ro: type check ('boolean') failed - got 'maybe'\n" +
			"mp0.size: invalid format - value does not look like a valid disk size: big\n\n"},
	}
	for _, tc := range tests {
		got, err := ParsePropertyString(testFormat, tc.in, "mp0", reg)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	noDefault := PropFormat{"name": {Type: "string"}}
	if _, err := ParsePropertyString(noDefault, "eth0", "", reg); err == nil ||
		err.Error() != "value without key, but schema does not define a default key\n" {
		t.Errorf("bare value: %v", err)
	}
	printed := PrintPropertyString(testFormat, map[string]string{"size": "8G", "ro": "1", "mp": "/x", "volume": "a"})
	if printed != "a,mp=/x,ro=1,size=8G" {
		t.Errorf("print: %s", printed)
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "1K": 1024, "1.5G": 3 << 29, "2TiB": 2 << 40, "0": 0} {
		if got, ok := ParseSize(in); !ok || got != want {
			t.Errorf("ParseSize(%s) = %d %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "-1G", "1X", "G"} {
		if _, ok := ParseSize(bad); ok {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	for in, want := range map[int64]string{1000: "1000", 2048: "2K", 10752 << 20: "10752M", 8 << 30: "8G", 3 << 40: "3T"} {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %s, want %s", in, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	reg := Base()
	tests := []struct{ format, value, msg string }{
		{"pve-ipv4-config", "dhcp", ""},
		{"pve-ipv4-config", "10.0.0.1/24", ""},
		{"pve-ipv4-config", "10.0.0.1/7", "value does not look like a valid ipv4 network configuration\n"},
		{"pve-ipv6-config", "auto", ""},
		{"pve-ipv6-config", "fd00::1/64", ""},
		{"mac-addr", "BC:24:11:00:00:01", ""},
		{"mac-addr", "BD:24:11:00:00:01", "value does not look like a valid unicast MAC address\n"},
		{"dns-name-list", "a.example b.example", ""},
		{"dns-name", "a_b", "value does not look like a valid DNS name\n"},
		{"lxc-ip-with-ll-iface-list", "10.0.0.1 fe80::1%eth0", ""},
		{"lxc-ip-with-ll-iface", "fe80::1%e", "value does not look like a valid IP address\n"},
		{"pve-startup-order", "order=1,up=30", ""},
		{"pve-startup-order", "3,down=5", ""},
		{"pve-startup-order", "up=x", "unable to parse startup options\n"},
		{"pve-tag-list", "a;b-c", ""},
		{"pve-tag-list", "a;-b", "invalid characters in tag\n"},
		{"pve-configid-list", "memory,net0", ""},
		{"pve-configid", "1x", "invalid configuration ID '1x'\n"},
		{"pve-task-status-type-list", "OK,error", ""},
		{"pve-ct-timezone", "host", ""},
		{"pve-ct-timezone", "Mars/Olympus", "invalid time zone 'Mars/Olympus'\n"},
		{"pve-volume-id", "local:snippets/x.pl", ""},
		{"pve-volume-id", "/root/x.pl", "unable to parse volume ID '/root/x.pl'\n"},
		{"no-such-format", "x", "undefined format 'no-such-format'\n"},
	}
	for _, tc := range tests {
		if got := reg.Check(tc.format, tc.value); got != tc.msg {
			t.Errorf("%s %q: %q, want %q", tc.format, tc.value, got, tc.msg)
		}
	}
}
