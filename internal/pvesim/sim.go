// Package pvesim is a faithful simulator of the Proxmox VE REST API
// (/api2/json), the stand-in for a real PVE cluster in tests and demos.
//
// It behaves like pveproxy/pvedaemon, never friendlier: ticket logins with
// RSA-signed tickets and CSRF tokens, every login failure answered as a
// delayed "401 authentication failure", pre-handler 401s with empty bodies
// and the reason in the status line, PVE's parameter verification messages,
// and the privilege model (roles, ACL propagation, pools, the "cap"
// object). Realms pam, pve, an LDAP and an OpenID realm (DefaultRealms);
// two-factor sign-in with TOTP, recovery keys and (never completable)
// WebAuthn and Yubico keys, with PVE's reuse checks and lockouts (tfa.go).
//
// The cluster: nodes, containers and QEMU VMs (Options.Scenario, AddGuest),
// /cluster/resources and /cluster/status, the container list, status and
// power actions, tasks with UPIDs and logs, /access/permissions. Order of
// checks as in pve-manager's rest handler: authentication, route (501),
// permission (403, so a user without the privilege gets 403 even for a
// vmid that does not exist), proxying to the node in the path (595 with an
// empty body when it is offline; 500 "hostname lookup" for a name that is
// no member), parameters (400), the handler (500 for PVE's plain dies).
//
// Time: everything reads Options.Now. Tasks are chains of steps due at
// clock instants and run when a later call looks (no goroutines), so a
// ManualClock drives them. Guest statistics are functions of the clock.
// /cluster/resources and /nodes show what each node's pvestatd broadcast
// last (every 10 s, up to 5 minutes for an offline node); status/current
// is live.
//
// Layout: sim.go (options, request pipeline), envelope.go (answer
// rendering), params.go (parameter extraction and schema checks),
// router.go (method table), ticket.go (tickets, CSRF), auth.go (users,
// realms, ticket/CSRF verification), tfa.go (second factors, TOTP, the
// two-step login), perms.go (roles, ACLs, pools), access.go (/access
// endpoints), nodes.go (nodes, /nodes, /version),
// guests.go (guests and their statistics), scenario.go (Scenarios),
// cluster.go (/cluster/*, /nodes/{node}/status), lxc.go (containers and
// proxying), tasks.go (task engine, /nodes/{node}/tasks), control.go (test
// controls, request counters and recorder), server.go (HTTPS),
// userflag.go (ParseUserFlag), clock.go (ManualClock).
package pvesim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// User is an account of the simulated cluster, with its optional second
// factors (see ParseUserFlag for the command-line form). The zero factor
// fields mean none: the user signs in with the password alone.
type User struct {
	ID       string // "root@pam", "alice@pve"
	Password string

	// TOTPSecret is the base32 secret of a TOTP entry (RFC 6238, SHA-1,
	// 6 digits, 30 s), at least 16 characters, case and '=' padding
	// ignored.
	TOTPSecret string
	// RecoveryKeys are single-use keys like "d470-94c5-4d3c-d70f"
	// (lower-case hex, 1 to 10 of them; PVE generates 10). A key's index
	// is its position here.
	RecoveryKeys []string
	// WebAuthn registers a security key: the challenge carries a WebAuthn
	// request, but no answer can succeed.
	WebAuthn bool
	// Yubico registers a Yubico OTP key: the challenge says "yubico":
	// true, but without a realm that enforces Yubico PVE accepts no
	// "yubico:" answer.
	Yubico bool
}

// Options configure a Sim. Zero values: Users = DefaultUsers(); Realms =
// DefaultRealms();
// AuthFailureDelay = 0 (no delay — tests); Now = time.Now; Version =
// "9.1.4"; Nodes = DefaultNodes(); Logger = discard; ClusterName = "lab"
// when there is more than one node (a single node is standalone).
type Options struct {
	Users            []User
	AuthFailureDelay time.Duration    // how long 401 answers are held (PVE: 3s; the CLI default is 3s)
	Now              func() time.Time // injectable clock
	Version          string           // pve-manager version reported by GET /version, e.g. "9.1.4"
	Nodes            []string         // node names, e.g. "pve1","pve2","pve3"
	Logger           *slog.Logger
	// ClusterName is the corosync cluster name, reported as "clustername"
	// at login to users with Sys.Audit on "/". Empty: "lab" for more than
	// one node, none (standalone node) for a single node.
	ClusterName string
	// Scenario names a prepared cluster (see Scenarios): "demo", "empty"
	// or "large". It brings its own nodes, users, ACLs, pools and guests;
	// Users still add users or override their passwords on top (an
	// existing user keeps its second factors unless the override sets
	// some, see SetUser), and Nodes must then be nil. "" keeps the bare cluster of earlier versions:
	// DefaultUsers, Nodes (DefaultNodes), no pools, no guests.
	Scenario string
	// OfflineNodes are down from the start, and have been for long enough
	// that pmxcfs dropped their status data: /cluster/resources shows them
	// offline and their guests "unknown" at once, and every call proxied
	// to them fails with 595. The first node (the one answering the API)
	// cannot be offline. See also Sim.SetNodeOnline.
	OfflineNodes []string
	// Realms replaces DefaultRealms. pam and pve are always there (added
	// when missing, as PVE does); at most one realm may be the default.
	Realms []Realm
	// TaskDurationScale multiplies every simulated duration inside tasks
	// (a CT start takes 1-2 s, a shutdown 2-4 s, a reboot 3-5 s, the
	// config-lock wait 10 s, shutdown timeouts as requested). 0 means 1;
	// 0.01 makes a start take 10-20 ms of clock time. Negative is refused.
	TaskDurationScale float64
}

// DefaultUsers returns root@pam (password "proxmox") and alice@pve
// (password "alice-pass"), an ordinary user without any privileges.
func DefaultUsers() []User {
	return []User{
		{ID: "root@pam", Password: "proxmox"},
		{ID: "alice@pve", Password: "alice-pass"},
	}
}

// DefaultNodes returns "pve1", "pve2", "pve3".
func DefaultNodes() []string {
	return []string{"pve1", "pve2", "pve3"}
}

// DefaultVersion is the pve-manager version reported when Options.Version
// is empty.
const DefaultVersion = "9.1.4"

// Sim is a simulated PVE cluster. It is an http.Handler serving the whole
// API under /api2/json/. All methods are safe for concurrent use.
type Sim struct {
	log         *slog.Logger
	now         func() time.Time
	authDelay   time.Duration
	version     string
	versionNum  [3]int
	release     string
	repoid      string
	clusterName string
	keys        *ticketKeys
	routes      *router

	requests atomic.Int64
	scale    float64 // TaskDurationScale

	recording atomic.Bool
	recMu     sync.Mutex
	recorded  []RecordedCall

	mu       sync.Mutex // guards everything below
	users    map[string]*userEntry
	realms   []*realm
	perms    *permState
	nodes    []*node
	guests   map[int]*guest
	order    []*guest // every guest, by vmid as a decimal string (PVE's "sort keys")
	tasks    map[string]*task
	active   []*task           // tasks with a pending step
	flocks   map[string]*flock // "node/vmid" -> config lock of a CT
	seq      int64             // orders steps due at the same instant
	storages []storageDef
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)[.-](\d+)$`)

// New builds a Sim from opts.
func New(opts Options) (*Sim, error) {
	s := &Sim{
		log:       opts.Logger,
		now:       opts.Now,
		authDelay: opts.AuthFailureDelay,
		version:   opts.Version,
		users:     map[string]*userEntry{},
		perms:     newPermState(),
		guests:    map[int]*guest{},
		tasks:     map[string]*task{},
		flocks:    map[string]*flock{},
		scale:     opts.TaskDurationScale,
		storages:  defaultStorages(),
	}
	if s.scale < 0 {
		return nil, fmt.Errorf("pvesim: negative TaskDurationScale %v", s.scale)
	}
	if s.scale == 0 {
		s.scale = 1
	}
	sc, err := lookupScenario(opts.Scenario)
	if err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.authDelay < 0 {
		return nil, fmt.Errorf("pvesim: negative AuthFailureDelay %v", s.authDelay)
	}
	if s.version == "" {
		s.version = DefaultVersion
	}
	m := versionRe.FindStringSubmatch(s.version)
	if m == nil {
		return nil, fmt.Errorf("pvesim: version %q is not like \"9.1.4\"", s.version)
	}
	for i := 0; i < 3; i++ {
		s.versionNum[i], _ = strconv.Atoi(m[i+1])
	}
	s.release = m[1] + "." + m[2]
	sum := sha256.Sum256([]byte("pve-manager/" + s.version))
	s.repoid = hex.EncodeToString(sum[:8])

	realms, err := buildRealms(opts.Realms)
	if err != nil {
		return nil, err
	}
	s.realms = realms

	users := opts.Users
	if sc != nil {
		users = append(append([]User(nil), sc.users...), opts.Users...)
	} else if users == nil {
		users = DefaultUsers()
	}
	for _, u := range users {
		if _, _, msg := verifyUsername(u.ID); msg != "" {
			return nil, fmt.Errorf("pvesim: user %q: %s", u.ID, strings.TrimSpace(msg))
		}
		if s.findRealm(realmOf(u.ID)) == nil {
			return nil, fmt.Errorf("pvesim: user %q: realm %q does not exist", u.ID, realmOf(u.ID))
		}
		if err := u.checkFactors(); err != nil {
			return nil, fmt.Errorf("pvesim: user %q: %w", u.ID, err)
		}
		s.putUser(u)
	}
	// root@pam always exists in user.cfg; without a configured password
	// it simply cannot log in.
	if _, ok := s.users[rootUser]; !ok {
		s.users[rootUser] = &userEntry{id: rootUser, enabled: true}
	}

	names := opts.Nodes
	if sc != nil {
		if names != nil {
			return nil, fmt.Errorf("pvesim: scenario %q brings its own nodes; leave Options.Nodes nil", opts.Scenario)
		}
		names = sc.nodes
	} else if names == nil {
		names = DefaultNodes()
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("pvesim: at least one node is needed")
	}
	nodes, err := newNodes(names, s.now())
	if err != nil {
		return nil, err
	}
	s.nodes = nodes
	for _, name := range opts.OfflineNodes {
		n := s.nodeByName(name)
		switch {
		case n == nil:
			return nil, fmt.Errorf("pvesim: offline node %q is not a cluster member", name)
		case n == s.nodes[0]:
			return nil, fmt.Errorf("pvesim: %s answers the API and cannot be offline", name)
		}
		n.online = false
		n.offlineAt = s.now().Add(-time.Hour)
	}
	if sc != nil {
		if err := sc.build(s); err != nil {
			return nil, err
		}
	}
	s.clusterName = opts.ClusterName
	if s.clusterName == "" && len(names) > 1 {
		s.clusterName = "lab"
	}

	keys, err := newTicketKeys()
	if err != nil {
		return nil, err
	}
	s.keys = keys
	s.routes = s.buildRoutes()
	return s, nil
}

// versionAtLeast compares the simulated pve-manager version.
func (s *Sim) versionAtLeast(major, minor, patch int) bool {
	want := [3]int{major, minor, patch}
	for i := 0; i < 3; i++ {
		if s.versionNum[i] != want[i] {
			return s.versionNum[i] > want[i]
		}
	}
	return true
}

// SetUser adds a user or replaces an existing user's password at run time.
// The user's realm should exist; otherwise the user can never log in.
// An existing user keeps its second factors (and their state: used
// recovery keys, locks) unless u sets any factor, in which case u's
// factors replace all old ones. SetUser panics if u's factors are
// invalid (a malformed TOTP secret or recovery key).
func (s *Sim) SetUser(u User) {
	if err := u.checkFactors(); err != nil {
		panic(fmt.Sprintf("pvesim: SetUser %q: %v", u.ID, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putUser(u)
}

// RemoveUser deletes a user like "pveum user delete": its ACL entries and
// group memberships go too, and its tickets stop working. root@pam cannot
// be removed.
func (s *Sim) RemoveUser(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == rootUser {
		return fmt.Errorf("pvesim: root@pam cannot be removed")
	}
	if _, ok := s.users[id]; !ok {
		return fmt.Errorf("pvesim: no such user ('%s')", id)
	}
	delete(s.users, id)
	s.perms.removeUser(id)
	return nil
}

// SetACL grants role on path to ugid (a userid, or "@group"), like
// "pveum acl modify PATH --roles ROLE [--users|--groups] --propagate".
// An empty role removes ugid's entries on path.
func (s *Sim) SetACL(path, ugid, role string, propagate bool) error {
	np := normalizePath(path)
	if np == "" {
		return fmt.Errorf("pvesim: invalid ACL path %q", path)
	}
	if role != "" {
		if _, ok := builtinRoles[role]; !ok {
			return fmt.Errorf("pvesim: role '%s' does not exist", role)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(ugid, "@") {
		if _, ok := s.perms.groups[ugid[1:]]; !ok {
			return fmt.Errorf("pvesim: group '%s' does not exist", ugid[1:])
		}
	} else if _, ok := s.users[ugid]; !ok {
		return fmt.Errorf("pvesim: user '%s' does not exist", ugid)
	}
	s.perms.setACL(np, ugid, role, propagate)
	return nil
}

// SetGroup creates or replaces a group with the given member userids.
func (s *Sim) SetGroup(name string, members ...string) error {
	if !groupNameRe.MatchString(name) {
		return fmt.Errorf("pvesim: invalid group name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]bool{}
	for _, m := range members {
		if _, ok := s.users[m]; !ok {
			return fmt.Errorf("pvesim: user '%s' does not exist", m)
		}
		set[m] = true
	}
	s.perms.groups[name] = set
	return nil
}

var groupNameRe = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)

// Requests returns the number of API requests served so far (every request
// that reached ServeHTTP, whatever its outcome).
func (s *Sim) Requests() int64 {
	return s.requests.Load()
}

// nowUnix is the simulated clock in unix seconds.
func (s *Sim) nowUnix() int64 {
	return s.now().Unix()
}

// call is one API request on its way through the pipeline.
type call struct {
	s      *Sim
	r      *http.Request
	method string
	relURI string
	user   string // authenticated userid; "" for calls exempt from auth
	token  bool   // authenticated with an API token
	params params
	vars   map[string]string
	route  *route
	node   *node // the node handling the call (after proxying)
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodDelete: true,
}

var apiPathRe = regexp.MustCompile(`^/api2/+([a-z][a-z0-9]+)(/.*)?$`)

// ServeHTTP serves the whole API under /api2/json/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.requests.Add(1)
	rp, c := s.serve(r, start)
	if c != nil && c.params != nil && s.recording.Load() {
		s.record(c, rp.status)
	}
	if rp.status >= 400 {
		// The connection is closed after the answer: read what is left of
		// the body first so that the close does not reset it under the
		// client before it has read the answer.
		drainBody(r)
	}
	if !rp.holdUntil.IsZero() {
		wait(r.Context(), time.Until(rp.holdUntil))
	}
	s.log.Debug("pvesim request", "method", r.Method, "uri", r.URL.RequestURI(),
		"status", rp.status, "user", rp.userid, "duration", time.Since(start))
	s.render(w, r, rp)
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// drainBody discards an unread request body (bounded).
func drainBody(r *http.Request) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4*maxPostSize))
	}
}

// serve is pveproxy's request handling up to a decided answer. The call
// is returned too (nil when the request never became an API call).
func (s *Sim) serve(r *http.Request, start time.Time) (*reply, *call) {
	if !knownMethods[r.Method] {
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("method '%s' not available", r.Method)), nil
	}
	if len(r.TransferEncoding) > 0 {
		drainBody(r)
		if strings.EqualFold(r.TransferEncoding[0], "chunked") {
			return bareReply(http.StatusNotImplemented, "chunked transfer encoding not supported"), nil
		}
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("Unknown transfer encoding '%s'", r.TransferEncoding[0])), nil
	}

	path := r.URL.Path
	c := &call{s: s, r: r, method: r.Method}
	format := ""
	isAPI := strings.HasPrefix(path, "/api2")
	if isAPI {
		m := apiPathRe.FindStringSubmatch(path)
		if m == nil {
			return bareReply(http.StatusNotImplemented, "no such uri"), c
		}
		format, c.relURI = m[1], m[2]
		if c.relURI == "" {
			c.relURI = "/"
		}
		if rt, _ := s.routes.find(r.Method, c.relURI); rt != nil {
			rt.calls.Add(1)
		}
		s.mu.Lock()
		rp := s.authenticate(c)
		s.mu.Unlock()
		if rp != nil {
			rp.holdUntil = time.Now().Add(s.authDelay)
			return rp, c
		}
	}

	// The body, as pveproxy reads it after authentication.
	var body []byte
	if r.ContentLength > 0 {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			return bareReply(http.StatusNotImplemented, fmt.Sprintf("Unexpected content for method '%s'", r.Method)), c
		}
		if r.ContentLength > maxPostSize {
			return bareReply(http.StatusNotImplemented, "for data too large"), c
		}
		ctype := r.Header.Get("Content-Type")
		if ct := contentType(ctype); ct != "" && ct != "application/x-www-form-urlencoded" && ct != "application/json" {
			return bareReply(506, fmt.Sprintf("upload 'Content-Type '%s' not implemented", ctype)), c
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxPostSize+1))
		if err != nil {
			return bareReply(http.StatusBadRequest, "bad request"), c
		}
		if len(b) > maxPostSize {
			return bareReply(http.StatusNotImplemented, "for data too large"), c
		}
		body = b
	}

	if !isAPI {
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("no such file '%s'", path)), c
	}
	if format != "json" {
		// Only the json formatter is simulated (PVE also has extjs,
		// htmljs, spiceconfig and png).
		return bareReply(http.StatusNotImplemented, fmt.Sprintf("no formatter for uri %s, %s", c.relURI, format)), c
	}

	p, perr := extractParams(r, body)
	if perr != nil {
		return bareReply(perr.status, perr.msg), c
	}
	c.params = p

	s.mu.Lock()
	rp := s.restHandler(c)
	s.mu.Unlock()
	rp.userid = c.user
	if rp.status == http.StatusUnauthorized {
		// "always delay unauthorized calls by 3 seconds" - counted from
		// the start of the request.
		rp.holdUntil = start.Add(s.authDelay)
	}
	return rp, c
}

// restHandler is PVE::HTTPServer::rest_handler plus RESTHandler::handle:
// method lookup (501), path/body parameter conflicts (400), API-token
// allowance (403), permission check (403), parameter verification (400),
// the handler itself. Called with s.mu held.
func (s *Sim) restHandler(c *call) *reply {
	rt, vars := s.routes.find(c.method, c.relURI)
	c.route = rt
	if rt == nil {
		return errorReply(&apiError{status: http.StatusNotImplemented,
			msg: fmt.Sprintf("Method '%s %s' not implemented", c.method, c.relURI)})
	}
	merged := params{}
	for k, v := range vars {
		merged[k] = v
	}
	for _, k := range sortedKeys(c.params) {
		v := c.params[k]
		if uv, ok := vars[k]; ok {
			if sv, isStr := v.(string); !isStr || sv != uv {
				return errorReply(paramError(map[string]string{
					k: "duplicate parameter (already defined in URI) with conflicting values!",
				}))
			}
		}
		merged[k] = v
	}
	c.params = merged
	c.vars = vars

	if c.token && !rt.allowToken {
		return errorReply(permError(fmt.Sprintf("URI '%s' not available with API token, need proper ticket.\n", c.relURI)))
	}
	if err := rt.checkPerm(c); err != nil {
		return errorReply(err)
	}
	c.node = s.nodes[0]
	if rt.proxyTo != "" {
		if rp := s.proxy(c, rt.proxyTo); rp != nil {
			return rp
		}
	}
	if err := rt.params.validate(c.params); err != nil {
		return errorReply(err)
	}
	s.advance(s.now())
	data, err := rt.fn(c)
	if err != nil {
		return errorReply(err)
	}
	switch d := data.(type) {
	case withTotal:
		rp := okReply(d.data)
		rp.total = d.total
		return rp
	case *download:
		rp := okReply(nil)
		rp.download = d
		return rp
	}
	return okReply(data)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// clientIP is the peer address for log lines.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
