package pvesim

import (
	"net/http"
	"strconv"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
)

// Power actions: POST /nodes/{node}/lxc/{vmid}/status/{start,stop,
// shutdown,reboot} (pve-container API2/LXC/Status.pm); the work is in
// package ops.

func (s *Sim) powerRoutes(rr *router) {
	skiplock := prop{Type: "boolean", Optional: true}
	power := []string{"VM.PowerMgmt"}
	rr.add(&route{
		name: "vm_start", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/start",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: schema{"node": nodeParam, "vmid": vmidParam, "skiplock": skiplock,
			"debug": {Type: "boolean", Optional: true}},
		fn: s.ctStart,
	})
	stop := schema{"node": nodeParam, "vmid": vmidParam, "skiplock": skiplock}
	if s.versionAtLeast(8, 2, 0) {
		stop["overrule-shutdown"] = prop{Type: "boolean", Optional: true}
	}
	rr.add(&route{
		name: "vm_stop", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/stop",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: stop,
		fn:     s.ctStop,
	})
	rr.add(&route{
		name: "vm_shutdown", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/shutdown",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"timeout":   {Type: "integer", Optional: true, Minimum: fptr(0)},
			"forceStop": {Type: "boolean", Optional: true}},
		fn: s.ctShutdown,
	})
	rr.add(&route{
		name: "vm_reboot", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/status/reboot",
		allowToken: true, protected: true, proxyTo: "node",
		checkPath: "/vms/{vmid}", checkPrivs: power,
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"timeout": {Type: "integer", Optional: true, Minimum: fptr(0)}},
		fn: s.ctReboot,
	})
}

// flag reads a boolean parameter.
func (c *call) flag(name string) bool {
	v, ok := c.params.str(name)
	return perlTrue(v, ok)
}

// intParam reads an integer parameter (verified already), def if absent.
func (c *call) intParam(name string, def int) int {
	if v, ok := c.params.str(name); ok {
		n, _ := strconv.Atoi(v)
		return n
	}
	return def
}

// skiplock is the handlers' check of skiplock: root only.
func (c *call) skiplock() (bool, error) {
	return ops.SkiplockAllowed(c.user, c.flag("skiplock"))
}

func (s *Sim) ctStart(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	skiplock, err := c.skiplock()
	if err != nil {
		return nil, err
	}
	return s.ops.Start(c.caller(), vmid, skiplock)
}

func (s *Sim) ctStop(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	skiplock, err := c.skiplock()
	if err != nil {
		return nil, err
	}
	return s.ops.Stop(c.caller(), vmid, skiplock, c.flag("overrule-shutdown"))
}

func (s *Sim) ctShutdown(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	return s.ops.Shutdown(c.caller(), vmid, c.intParam("timeout", 60), c.flag("forceStop"))
}

func (s *Sim) ctReboot(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	return s.ops.Reboot(c.caller(), vmid, c.intParam("timeout", 60))
}
