// Package pvesim is a faithful simulator of the Proxmox VE REST API
// (/api2/json), the stand-in for a real PVE cluster in tests and demos.
//
// It behaves like pveproxy/pvedaemon, never friendlier: ticket logins with
// RSA-signed tickets and CSRF tokens, every login failure answered as a
// delayed "401 authentication failure", pre-handler 401s with empty bodies
// and the reason in the status line, PVE's parameter verification messages,
// and the privilege model (roles, ACL propagation, pools, the "cap"
// object). Realms pam, pve, an LDAP and an OpenID realm (DefaultRealms),
// the latter signing in through PVE's OpenID calls and the simulator's
// own provider (package oidc, served by Start);
// two-factor sign-in with TOTP, recovery keys and (never completable)
// WebAuthn and Yubico keys, with PVE's reuse checks and lockouts.
//
// The cluster: nodes, containers and QEMU VMs (Options.Scenario, AddGuest),
// /cluster/resources and /cluster/status, the container list, status,
// configuration (with pending changes and digests), resizing, statistics
// history, interfaces, power actions, tasks with UPIDs, logs and the task
// list, /access/permissions. Order of checks as in pve-manager's rest
// handler: authentication, route (501), permission (403, so a user
// without the privilege gets 403 even for a vmid that does not exist),
// proxying to the node in the path (595 with an empty body when it is
// offline; 500 "hostname lookup" for a name that is no member),
// parameters (400), the handler (500 for PVE's plain dies).
//
// Time: everything reads Options.Now. Tasks are chains of steps due at
// clock instants and run when a later call looks (no goroutines), so a
// ManualClock drives them. Guest statistics are functions of the clock.
//
// Layout: this package is the PVE HTTP surface and the façade tests use;
// the cluster lives in subpackages that import no net/http: state (nodes,
// guests and their configuration files, pools, storages, statistics),
// access (users, realms, second factors, roles, ACLs), tasks (the step
// engine, config locks, UPIDs, the task list), ops (power, configuration,
// resize, interfaces as operations over state and tasks), jsonschema
// (PVE's parameter checks and formats) and perl (Perl semantics). Here:
// sim.go (options, New), pipeline.go (the request pipeline), envelope.go
// (answer rendering), params.go and schema.go (parameters), router.go,
// ticket.go (tickets, CSRF), auth.go (ticket checks before the handler),
// one api_*.go file per API area (api_openid.go with openid_state.go and
// openid_provider.go for OpenID), control*.go (test controls),
// recorder.go, scenario.go, server.go (HTTPS), userflag.go, clock.go.
package pvesim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	js "github.com/lxc-manager/lxc-manager/internal/pvesim/jsonschema"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/oidc"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/ops"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// User is an account of the simulated cluster, with its optional second
// factors (see ParseUserFlag for the command-line form). The zero factor
// fields mean none: the user signs in with the password alone.
type User = access.User

// Realm is an authentication domain of domains.cfg, as offered by GET
// /access/domains for the login box.
type Realm = access.Realm

// DefaultRealms returns the realms of every scenario: pam (the default),
// pve, corp (an LDAP directory, simulated by the simulator's own user
// table) and sso (OpenID Connect through the simulator's own provider;
// password sign-in is refused, as in PVE).
func DefaultRealms() []Realm { return access.DefaultRealms() }

// RoleNames returns the names of the built-in roles, sorted.
func RoleNames() []string { return access.RoleNames() }

const rootUser = access.RootUser

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
	// ProviderUsers are the accounts of the simulator's own OpenID
	// provider (the one OpenID realms without an issuer URL use; Start
	// serves it). nil: DefaultProviderUsers.
	ProviderUsers []ProviderUser
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
	formats     js.Registry

	requests atomic.Int64

	recording atomic.Bool
	recMu     sync.Mutex
	recorded  []RecordedCall

	openidRP      oidc.RP
	providerUsers []ProviderUser

	mu      sync.Mutex // guards everything below, and all they point to
	dir     *access.Directory
	acl     *access.ACL
	cluster *state.Cluster
	tasks   *tasks.Engine
	ops     *ops.Ops
	con     *consoleState // termproxy processes and console sessions (api_console.go)

	// openidStates are the pending OpenID sign-ins (api_openid.go).
	openidStates openidStates
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)[.-](\d+)$`)

// New builds a Sim from opts.
func New(opts Options) (*Sim, error) {
	s := &Sim{log: opts.Logger, now: opts.Now, authDelay: opts.AuthFailureDelay, version: opts.Version}
	scale := opts.TaskDurationScale
	if scale < 0 {
		return nil, fmt.Errorf("pvesim: negative TaskDurationScale %v", scale)
	}
	if scale == 0 {
		scale = 1
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
	if err := s.setVersion(); err != nil {
		return nil, err
	}
	if err := s.buildUsers(opts, sc); err != nil {
		return nil, err
	}
	if err := s.buildCluster(opts, sc, scale); err != nil {
		return nil, err
	}
	s.clusterName = opts.ClusterName
	if s.clusterName == "" && len(s.cluster.Nodes) > 1 {
		s.clusterName = "lab"
	}
	keys, err := newTicketKeys()
	if err != nil {
		return nil, err
	}
	s.keys = keys
	s.formats = js.Base().With(js.Registry{
		"pve-priv": func(v string) string {
			if !s.acl.ValidPriv(v) {
				return fmt.Sprintf("invalid privilege '%s'\n", v)
			}
			return ""
		},
		"pve-userid": func(v string) string {
			_, _, msg := access.VerifyUsername(v)
			return msg
		},
	})
	s.formats = s.formats.With(backupFormats())
	s.openidStates = openidStates{}
	s.openidRP = oidc.RP{HTTP: &http.Client{Timeout: openidHTTPTimeout}}
	s.providerUsers = opts.ProviderUsers
	if s.providerUsers == nil {
		s.providerUsers = DefaultProviderUsers()
	}
	s.formats = s.formats.With(storageFormats())
	s.routes = s.buildRoutes()
	return s, nil
}

// setVersion parses Options.Version.
func (s *Sim) setVersion() error {
	if s.version == "" {
		s.version = DefaultVersion
	}
	m := versionRe.FindStringSubmatch(s.version)
	if m == nil {
		return fmt.Errorf("pvesim: version %q is not like \"9.1.4\"", s.version)
	}
	for i := 0; i < 3; i++ {
		s.versionNum[i], _ = strconv.Atoi(m[i+1])
	}
	s.release = m[1] + "." + m[2]
	sum := sha256.Sum256([]byte("pve-manager/" + s.version))
	s.repoid = hex.EncodeToString(sum[:8])
	return nil
}

// buildUsers creates the directory: the realms, the scenario's users and
// Options.Users.
func (s *Sim) buildUsers(opts Options, sc *scenario) error {
	dir, err := access.NewDirectory(opts.Realms, s.log, s.now)
	if err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	s.dir = dir
	users := opts.Users
	if sc != nil {
		users = append(append([]User(nil), sc.users...), opts.Users...)
	} else if users == nil {
		users = DefaultUsers()
	}
	for _, u := range users {
		if _, _, msg := access.VerifyUsername(u.ID); msg != "" {
			return fmt.Errorf("pvesim: user %q: %s", u.ID, strings.TrimSpace(msg))
		}
		if !dir.HasRealm(access.RealmOf(u.ID)) {
			return fmt.Errorf("pvesim: user %q: realm %q does not exist", u.ID, access.RealmOf(u.ID))
		}
		if err := u.CheckFactors(); err != nil {
			return fmt.Errorf("pvesim: user %q: %w", u.ID, err)
		}
		dir.Put(u)
	}
	dir.EnsureRoot()
	return nil
}

// buildCluster creates the nodes, the ACL, the task engine and the
// scenario's guests.
func (s *Sim) buildCluster(opts Options, sc *scenario, scale float64) error {
	names := opts.Nodes
	if sc != nil {
		if names != nil {
			return fmt.Errorf("pvesim: scenario %q brings its own nodes; leave Options.Nodes nil", opts.Scenario)
		}
		names = sc.nodes
	} else if names == nil {
		names = DefaultNodes()
	}
	if len(names) == 0 {
		return fmt.Errorf("pvesim: at least one node is needed")
	}
	nodes, err := state.NewNodes(names, s.now())
	if err != nil {
		return fmt.Errorf("pvesim: %w", err)
	}
	s.cluster = state.NewCluster(nodes, s.versionNum)
	s.acl = access.NewACL(s.cluster.PoolOf)
	s.tasks = tasks.NewEngine(scale)
	s.ops = &ops.Ops{Cluster: s.cluster, Tasks: s.tasks, ACL: s.acl, Now: s.now, Version: s.versionNum}
	for _, name := range opts.OfflineNodes {
		n := s.cluster.NodeByName(name)
		switch {
		case n == nil:
			return fmt.Errorf("pvesim: offline node %q is not a cluster member", name)
		case n == nodes[0]:
			return fmt.Errorf("pvesim: %s answers the API and cannot be offline", name)
		}
		n.Online = false
		n.OfflineAt = s.now().Add(-time.Hour)
	}
	if sc != nil {
		return sc.build(s)
	}
	return nil
}

// versionAtLeast compares the simulated pve-manager version.
func (s *Sim) versionAtLeast(major, minor, patch int) bool {
	return s.ops.VersionAtLeast(major, minor, patch)
}

// localNode is the node answering the API.
func (s *Sim) localNode() *state.Node { return s.cluster.Nodes[0] }

// Requests returns the number of API requests served so far (every request
// that reached ServeHTTP, whatever its outcome).
func (s *Sim) Requests() int64 {
	return s.requests.Load()
}

// nowUnix is the simulated clock in unix seconds.
func (s *Sim) nowUnix() int64 {
	return s.now().Unix()
}
