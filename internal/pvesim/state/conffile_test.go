package state

import (
	"reflect"
	"testing"
)

func TestConfFileRoundTrip(t *testing.T) {
	keys := ConfigKeys([3]int{9, 1, 4})
	raw := "#first: line 100%\n#\n#third\narch: amd64\ncores: 002\nmemory: 512\nonboot: yes\n" +
		"lxc.environment.runtime: A=1\nlxc.environment.runtime: B=2\n" +
		"\n[pve:pending]\nmemory: 1024\ndelete: swap,!tags\n" +
		"\n[before]\n#snap\nmemory: 256\nsnaptime: 1700000000\n"
	c := ParseConf(raw, keys)
	want := map[string]string{"description": "first: line 100%\n\nthird\n", "arch": "amd64", "cores": "2",
		"memory": "512", "onboot": "1", "env": "A=1\x00B=2"}
	if !reflect.DeepEqual(c.Values, want) {
		t.Errorf("values %q, want %q", c.Values, want)
	}
	if !reflect.DeepEqual(c.Pending, map[string]string{"memory": "1024", "delete": "swap,!tags"}) {
		t.Errorf("pending %q", c.Pending)
	}
	if !reflect.DeepEqual(c.PendingDeletes(), map[string]bool{"swap": false, "tags": true}) {
		t.Errorf("pending deletes %v", c.PendingDeletes())
	}
	if s := c.Snapshots["before"]; s["description"] != "snap\n" || s["memory"] != "256" {
		t.Errorf("snapshot %q", s)
	}
	out := c.Render()
	wantOut := "#first%3A line 100%25\n#\n#third\narch: amd64\ncores: 2\nmemory: 512\nonboot: 1\n" +
		"lxc.environment.runtime: A=1\nlxc.environment.runtime: B=2\n" +
		"\n[pve:pending]\ndelete: swap,!tags\nmemory: 1024\n" +
		"\n[before]\n#snap\nmemory: 256\nsnaptime: 1700000000\n"
	if out != wantOut {
		t.Errorf("render\n%s\nwant\n%s", out, wantOut)
	}
	if again := ParseConf(out, keys); !reflect.DeepEqual(again, c) {
		t.Errorf("the rendered file reads back differently: %+v", again)
	}
	if len(c.Digest()) != 40 || c.Digest() == ParseConf(raw+"swap: 0\n", keys).Digest() {
		t.Error("digest does not follow the file")
	}
}

func TestPendingHelpers(t *testing.T) {
	c := NewConf()
	c.Values = map[string]string{"memory": "512", "swap": "512", "onboot": "0"}
	c.Pending = map[string]string{"memory": "512", "cores": "2"}
	c.AddPendingDelete("swap", false)
	c.AddPendingDelete("tags", true) // not set: cleanup drops it
	c.AddPendingDelete("onboot", false)
	c.CleanupPending()
	if !reflect.DeepEqual(c.Pending, map[string]string{"cores": "2", "delete": "onboot,swap"}) {
		t.Errorf("pending after cleanup %q", c.Pending)
	}
	// load_current_config keeps options whose value is Perl-false.
	if cur := c.Current(false); !reflect.DeepEqual(cur, map[string]string{"memory": "512", "cores": "2", "onboot": "0"}) {
		t.Errorf("current with pending %q", cur)
	}
	c.RemovePendingDelete("swap")
	c.RemovePendingDelete("onboot")
	if _, ok := c.Pending["delete"]; ok {
		t.Errorf("empty delete kept: %q", c.Pending)
	}
}

func TestLookupKey(t *testing.T) {
	keys := ConfigKeys([3]int{8, 4, 1})
	for name, ok := range map[string]bool{"net0": true, "net31": true, "net32": false, "net01": false, "mp255": true,
		"mp256": false, "memory": true, "net[n]": false, "entrypoint": false, "frob": false} {
		if _, got := LookupKey(keys, name); got != ok {
			t.Errorf("LookupKey(%s) = %v", name, got)
		}
	}
	if _, ok := LookupKey(ConfigKeys([3]int{9, 1, 0}), "entrypoint"); !ok {
		t.Error("entrypoint exists from 9.1")
	}
}
