package pvesim

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/console"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// The container console (pve-container API2/LXC.pm termproxy and
// vncwebsocket): termproxy forks a `vncproxy` task running termproxy on a
// free port of the node that got the request (no proxyto: a CT elsewhere
// is reached through ssh), and returns a ticket bound to the user, the
// path and that port. The websocket (websocket.go) then connects pveproxy
// to that port, once; termproxy checks the ticket line and attaches to
// the container's dtach session (package console).

// Termproxy ports (PVE::Tools::next_vnc_port).
const (
	vncPortMin = 5900
	vncPortMax = 5999
)

// termproxyWait is how long termproxy waits for its connection and then
// for the ticket line.
const termproxyWait = 10 * time.Second

// consoleState is the simulator's consoles: termproxy processes waiting
// for their connection, and the dtach sessions.
type consoleState struct {
	sessions *console.Manager
	waiting  map[string]*termproxy // by "node:port"
}

// termproxy is one termproxy process between its start and its
// connection.
type termproxy struct {
	node     *state.Node // where it listens (the node that got the call)
	ctNode   *state.Node // where the container is
	port     int
	vmid     string
	user     string
	ticket   string
	task     *tasks.Task
	deadline time.Time // on the simulated clock
}

func (p *termproxy) key() string { return p.node.Name + ":" + strconv.Itoa(p.port) }

// command is the task's command line, as its failure names it.
func (p *termproxy) command() string {
	cmd := fmt.Sprintf("/usr/bin/termproxy %d --path /vms/%s --perm VM.Console --vncticket-endpoint --verify-port --ticket-fd 3 --", p.port, p.vmid)
	if p.ctNode != p.node {
		cmd += fmt.Sprintf(" /usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=%s -t root@%s --", p.ctNode.Name, p.ctNode.IP)
	}
	return cmd + fmt.Sprintf(" /usr/bin/dtach -A /var/run/dtach/vzctlconsole%s -r winch -z lxc-console -n %s -e -1", p.vmid, p.vmid)
}

func (s *Sim) consoleRoutes(rr *router) {
	s.con = &consoleState{sessions: console.NewManager(), waiting: map[string]*termproxy{}}
	rr.add(&route{
		name: "termproxy", method: http.MethodPost, path: "/nodes/{node}/lxc/{vmid}/termproxy",
		allowToken: true, protected: true,
		checkPath: "/vms/{vmid}", checkPrivs: []string{"VM.Console"},
		params: schema{"node": nodeParam, "vmid": vmidParam},
		fn:     s.ctTermproxy,
	})
	rr.add(&route{
		name: "vncwebsocket", method: http.MethodGet, path: "/nodes/{node}/lxc/{vmid}/vncwebsocket",
		allowToken: true,
		checkPath:  "/vms/{vmid}", checkPrivs: []string{"VM.Console"},
		params: schema{"node": nodeParam, "vmid": vmidParam,
			"vncticket": {Type: "string", MaxLength: 512},
			"port":      {Type: "integer", Minimum: fptr(vncPortMin), Maximum: fptr(vncPortMax)}},
		fn: s.ctVNCWebsocket,
	})
}

// ctTermproxy is POST .../termproxy. It checks neither that the container
// runs nor that its node is up: only that its configuration exists.
func (s *Sim) ctTermproxy(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	name, _ := c.params.str("node")
	now := s.now()
	ctNode := c.node
	if name != "localhost" && name != c.node.Name {
		if ctNode = s.cluster.NodeByName(name); ctNode == nil {
			return nil, internalError("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known\n", name, name)
		}
	}
	if s.cluster.LocalCT(ctNode, vmid) == nil {
		return nil, ops.NoConfig(ctNode, vmid)
	}
	port := 0
	for p := vncPortMin; p <= vncPortMax && port == 0; p++ {
		if s.con.waiting[c.node.Name+":"+strconv.Itoa(p)] == nil {
			port = p
		}
	}
	if port == 0 {
		return nil, internalError("unable to find free port (%d-%d)\n", vncPortMin, vncPortMax)
	}
	p := &termproxy{node: c.node, ctNode: ctNode, port: port, vmid: vmid, user: c.user,
		ticket: s.keys.assembleVNCTicket(c.user, "/vms/"+vmid, port, now.Unix()), deadline: now.Add(termproxyWait)}
	p.task = s.tasks.Start(c.node, "vncproxy", vmid, c.user, now)
	s.con.waiting[p.key()] = p
	s.tasks.Schedule(p.task, p.deadline, func(at time.Time) {
		if s.con.waiting[p.key()] == p {
			delete(s.con.waiting, p.key())
			s.termproxyEnded(p, at, "failed waiting for client: timed out")
		}
	})
	return map[string]any{"user": c.user, "ticket": p.ticket, "port": port, "upid": p.task.UPID}, nil
}

// termproxyEnded finishes p's task. Called with s.mu held.
func (s *Sim) termproxyEnded(p *termproxy, at time.Time, failure string) {
	if failure == "" {
		s.tasks.Finish(p.task, at, "OK")
		return
	}
	p.task.Log(at, failure)
	s.tasks.Finish(p.task, at, fmt.Sprintf("command '%s' failed: exit code 1", p.command()))
}

// vncRelay is vncwebsocket's answer: {port}. With an Upgrade header
// pveproxy connects the websocket to that port instead (websocket.go).
type vncRelay struct {
	Port string `json:"port"`
	node *state.Node
}

// ctVNCWebsocket is GET .../vncwebsocket: the ticket must be one of this
// user's for /vms/<vmid> and this port, and young enough.
func (s *Sim) ctVNCWebsocket(c *call) (any, error) {
	vmid, _ := c.params.str("vmid")
	portStr, _ := c.params.str("port")
	port, _ := strconv.Atoi(portStr)
	ticket, _ := c.params.str("vncticket")
	if !s.keys.verifyVNCTicket(ticket, c.user, "/vms/"+vmid, port, s.nowUnix()) {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "permission denied - invalid PVEVNC ticket\n"}
	}
	return &vncRelay{Port: portStr, node: c.node}, nil
}

// connectTermproxy is pveproxy's connect to localhost:<port>: it reaches
// the termproxy waiting there, which stops listening, or nobody (nil: the
// connection is refused). Called with s.mu held.
func (s *Sim) connectTermproxy(node *state.Node, port string) *console.Conn {
	s.tasks.Advance(s.now()) // a termproxy past its wait has given up
	p := s.con.waiting[node.Name+":"+port]
	if p == nil {
		return nil
	}
	delete(s.con.waiting, p.key())
	tp := &console.Termproxy{
		TicketTimeout: termproxyWait,
		Auth:          func(user, ticket string) error { return s.termproxyAuth(p, user, ticket) },
		Start:         func() *console.Client { return s.termproxyStart(p) },
		Done: func(failure string) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.termproxyEnded(p, s.now(), failure)
		},
	}
	return tp.Serve()
}

// termproxyAuth is termproxy's check of the ticket line: its own ticket,
// then POST /access/vncticket (signature for this user, path and port,
// age, the user's VM.Console).
func (s *Sim) termproxyAuth(p *termproxy, user, ticket string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := "/vms/" + p.vmid
	switch {
	case ticket != p.ticket:
		return fmt.Errorf("ticket mismatch")
	case !s.keys.verifyVNCTicket(ticket, user, path, p.port, s.nowUnix()):
		return fmt.Errorf("invalid authentication - 401 permission denied - invalid PVEVNC ticket")
	case s.dir.CheckUserEnabled(user) != "":
		return fmt.Errorf("invalid authentication - 401 authentication failure")
	}
	if err := s.acl.Check(user, path, "VM.Console"); err != nil {
		return fmt.Errorf("invalid authentication - 403 %s", err)
	}
	return nil
}

// termproxyStart runs the command behind termproxy's pty: ssh to the
// container's node when it is another one, then dtach -A with
// lxc-console.
func (s *Sim) termproxyStart(p *termproxy) *console.Client {
	s.mu.Lock()
	key := p.ctNode.Name + "/" + p.vmid
	offline := p.ctNode != p.node && !p.ctNode.Online
	g := s.cluster.LocalCT(p.ctNode, p.vmid)
	running := g != nil && g.Cur.Running
	ip := p.ctNode.IP
	s.mu.Unlock()
	vmid, _ := strconv.Atoi(p.vmid)
	switch {
	case offline:
		return console.Ended("ssh: connect to host " + ip + " port 22: No route to host\r\n")
	case !running:
		s.con.sessions.End(key)
		return console.NotRunning(vmid)
	}
	return s.con.sessions.Attach(key, func() console.Container { return s.consoleHost(p.ctNode, p.vmid) })
}

// consoleHost describes a container to its console session.
func (s *Sim) consoleHost(n *state.Node, vmid string) console.Container {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.Atoi(vmid)
	ct := console.Container{VMID: id, Hostname: "CT" + vmid, Kernel: "6.8.12-9-pve"}
	if s.versionAtLeast(9, 0, 0) {
		ct.Kernel = "6.17.2-1-pve"
	}
	g := s.cluster.LocalCT(n, vmid)
	if g == nil || !g.Cur.Running || !n.Online {
		return ct
	}
	ct.Running = true
	values := s.cluster.ConfOf(g).Values
	if h := values["hostname"]; h != "" {
		ct.Hostname = h
	}
	ct.OSType, ct.Arch = values["ostype"], values["arch"]
	for _, iface := range s.ops.Interfaces(ops.Caller{Node: n}, vmid) {
		for _, a := range iface.Addresses {
			if a.Type == "inet" {
				ct.Addrs = append(ct.Addrs, console.Addr{Iface: iface.Name, CIDR: fmt.Sprintf("%s/%d", a.Address, a.Prefix),
					Brd: broadcast(a.Address, a.Prefix)})
			}
		}
	}
	return ct
}

// broadcast is an IPv4 address's broadcast address ("" for loopback and
// /31, /32).
func broadcast(addr string, prefix int) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() || a.IsLoopback() || prefix >= 31 {
		return ""
	}
	b := a.As4()
	host := uint32(1)<<(32-prefix) - 1
	v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}
