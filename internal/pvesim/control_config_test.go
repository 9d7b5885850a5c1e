package pvesim

import (
	"errors"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
)

func TestConfigControls(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{})
	cc, err := e.sim.Config(101)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Values["hostname"] != "web-01" || cc.Values["onboot"] != "1" || len(cc.Pending) != 0 || !digestRe.MatchString(cc.Digest) {
		t.Errorf("Config(101) = %+v", cc)
	}
	mustDo(t, e.sim.SetConfig(101, "memory", "4096"))
	mustDo(t, e.sim.SetConfig(101, "onboot", ""))
	after, _ := e.sim.Config(101)
	if after.Values["memory"] != "4096" || after.Values["onboot"] != "" || after.Digest == cc.Digest {
		t.Errorf("after SetConfig: %+v", after)
	}
	if st := e.current("pve1", 101); st["maxmem"] != float64(4096<<20) {
		t.Errorf("maxmem %v", st["maxmem"])
	}
	// The lock through SetConfig is SetLock.
	mustDo(t, e.sim.SetConfig(101, "lock", "backup"))
	if g, _ := e.sim.Container(101); g.Lock != "backup" {
		t.Errorf("lock %q", g.Lock)
	}
	for _, tc := range []struct {
		name       string
		vmid       int
		key, value string
		want       error
	}{
		{"unknown option", 101, "frobnicate", "1", state.ErrInvalid},
		{"bad value", 101, "memory", "8", state.ErrInvalid},
		{"bad interface", 101, "net0", "bridge=vmbr0", state.ErrInvalid},
		{"no such guest", 4242, "memory", "512", state.ErrNotFound},
		{"a VM has no CT config", 100, "memory", "512", state.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.sim.SetConfig(tc.vmid, tc.key, tc.value); !errors.Is(err, tc.want) {
				t.Errorf("SetConfig: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := e.sim.Config(100); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Config(VM): %v", err)
	}
}
