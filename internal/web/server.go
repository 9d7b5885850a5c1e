// Package web is LXC Manager's HTTP front end: routes, middleware, pages and
// the translation of errors into what a person sees. It talks to Proxmox VE
// only through the small PVE interface below, with the signed-in person's
// own identity.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/jobs"
	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/metrics"
	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/throttle"
)

// PVE is what the web layer needs from the Proxmox VE client. Errors carry an
// lxc.Code (lxc.ErrorCode): ECredentials for a refused sign-in,
// EUnauthorized for a ticket PVE no longer accepts, EUnreachable, ETLS.
type PVE interface {
	Login(ctx context.Context, cred lxc.Credentials) (lxc.Identity, error)
	Renew(ctx context.Context, id lxc.Identity) (lxc.Identity, error)
	CompleteTFA(ctx context.Context, ch lxc.TFAChallenge, response string) (lxc.Identity, error)
	OpenIDAuthURL(ctx context.Context, realm, redirectURL string) (string, error)
	OpenIDLogin(ctx context.Context, state, code, redirectURL string) (lxc.Identity, error)
	Realms(ctx context.Context) ([]lxc.Realm, error)
	Version(ctx context.Context, id lxc.Identity) (lxc.Version, error)
	Nodes(ctx context.Context, id lxc.Identity) ([]lxc.Node, error)
	Containers(ctx context.Context, id lxc.Identity) ([]lxc.Container, error)
	ContainerStatus(ctx context.Context, id lxc.Identity, node string, vmid int) (lxc.Container, error)
	Permissions(ctx context.Context, id lxc.Identity, path string) (lxc.Permissions, error)
	Act(ctx context.Context, id lxc.Identity, node string, vmid int, action lxc.Action, opts lxc.ActionOptions) (string, error)
	Task(ctx context.Context, id lxc.Identity, node, upid string) (lxc.Task, error)
	TaskLog(ctx context.Context, id lxc.Identity, node, upid string, start, limit int) ([]string, error)
	NodeTasks(ctx context.Context, id lxc.Identity, node string, f lxc.TaskFilter) ([]lxc.TaskEntry, int, error)
	ContainerConfig(ctx context.Context, id lxc.Identity, node string, vmid int, current bool) (lxc.Config, error)
	ContainerPending(ctx context.Context, id lxc.Identity, node string, vmid int) ([]lxc.PendingChange, error)
	UpdateConfig(ctx context.Context, id lxc.Identity, node string, vmid int, ch lxc.ConfigChange) error
	ResizeDisk(ctx context.Context, id lxc.Identity, node string, vmid int, disk, size, digest string) (string, error)
	Interfaces(ctx context.Context, id lxc.Identity, node string, vmid int) ([]lxc.Interface, error)
	RRDData(ctx context.Context, id lxc.Identity, node string, vmid int, timeframe, cf string) ([]lxc.RRDPoint, error)
	// Snapshots (snapshots.go, snapshot_actions.go).
	Snapshots(ctx context.Context, id lxc.Identity, node string, vmid int) ([]lxc.Snapshot, error)
	CanSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int) (bool, error)
	SnapshotConfig(ctx context.Context, id lxc.Identity, node string, vmid int, name string) (lxc.Config, error)
	TakeSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int, name, description string) (string, error)
	DeleteSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int, name string) (string, error)
	RollbackSnapshot(ctx context.Context, id lxc.Identity, node string, vmid int, name string, start bool) (string, error)
	SetSnapshotDescription(ctx context.Context, id lxc.Identity, node string, vmid int, name, description string) error
	// Backups (backups.go, backup_actions.go, lastbackup.go).
	StorageEntries(ctx context.Context, id lxc.Identity) ([]lxc.StorageEntry, error)
	Backups(ctx context.Context, id lxc.Identity, node, storage string, vmid int) ([]lxc.Backup, error)
	Backup(ctx context.Context, id lxc.Identity, node string, vmid int, o lxc.BackupOptions) (string, error)
	DeleteBackup(ctx context.Context, id lxc.Identity, node, volid string) (string, error)
	UpdateBackup(ctx context.Context, id lxc.Identity, node, volid string, notes *string, protected *bool) error
	Restore(ctx context.Context, id lxc.Identity, node string, o lxc.RestoreOptions) (string, error)
	OpenConsole(ctx context.Context, id lxc.Identity, node string, vmid int) (lxc.Console, error)
	Storages(ctx context.Context, id lxc.Identity, node, content string) ([]lxc.Storage, error)
	StorageContent(ctx context.Context, id lxc.Identity, node, storage, content string) ([]lxc.Volume, error)
	Appliances(ctx context.Context, id lxc.Identity, node string) ([]lxc.Appliance, error)
	Bridges(ctx context.Context, id lxc.Identity, node string) ([]lxc.Bridge, error)
	Pools(ctx context.Context, id lxc.Identity) ([]lxc.Pool, error)
	NextID(ctx context.Context, id lxc.Identity) (int, error)
	VMIDFree(ctx context.Context, id lxc.Identity, vmid int) (bool, error)
	CreateContainer(ctx context.Context, id lxc.Identity, node string, spec lxc.CreateSpec) (string, error)
	CloneContainer(ctx context.Context, id lxc.Identity, node string, vmid int, spec lxc.CloneSpec) (string, error)
	ConvertToTemplate(ctx context.Context, id lxc.Identity, node string, vmid int) error
	DestroyContainer(ctx context.Context, id lxc.Identity, node string, vmid int, opts lxc.DestroyOptions) (string, error)
	DownloadTemplate(ctx context.Context, id lxc.Identity, node, storage, template string) (string, error)
}

// Limiter reserves sign-in attempts against several counters at once
// (throttle.Limiter states the contract: Reserve counts atomically or
// returns the wait, Release gives an attempt back, Reset forgets). Errors
// mean its store is unreachable.
type Limiter interface {
	Reserve(ctx context.Context, limits ...throttle.Limit) (time.Duration, error)
	Release(ctx context.Context, limits ...throttle.Limit) error
	Reset(ctx context.Context, keys ...string) error
}

// StepClaims remembers the second steps of sign-ins that were used
// (throttle.Claims states the contract). Errors mean its store is
// unreachable.
type StepClaims interface {
	Claim(ctx context.Context, id string, ttl time.Duration) (bool, error)
	Unclaim(ctx context.Context, id string) error
}

// Realm is a sign-in realm offered on the login form.
type Realm struct {
	Name    string // "pam"
	Label   string // "Linux PAM"
	Type    string // pam, pve, ldap, ad, openid
	Default bool
}

// DefaultRealms are offered when PVE's own list cannot be had.
func DefaultRealms() []Realm {
	return []Realm{{Name: "pam", Label: "Linux PAM", Type: "pam", Default: true}, {Name: "pve", Label: "Proxmox VE", Type: "pve"}}
}

// Config holds the Server's dependencies and settings.
type Config struct {
	PVE   PVE
	Store session.Store
	Codec *session.Codec
	// Limiter refuses sign-ins after too many failures per account,
	// client address and browser (signin_limits.go).
	Limiter Limiter
	// StepClaims makes each second step of a sign-in single-use.
	StepClaims StepClaims
	Logger     *slog.Logger
	// CookieSecure sets the Secure flag on the dashboard's cookies and
	// names them with the __Host- prefix (cookieName).
	CookieSecure bool
	// SessionTTL is a session's lifetime without activity (a PVE ticket's:
	// 2 h); activity renews the ticket and the session with it.
	SessionTTL time.Duration
	// SessionMaxAge ends even an active session this long after sign-in
	// (12 h when zero).
	SessionMaxAge time.Duration
	// LoginTimeout bounds the sign-in call to PVE.
	LoginTimeout time.Duration
	// Realms offered on the login form when PVE's list (GET
	// /access/domains) cannot be fetched; DefaultRealms when empty.
	Realms []Realm
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// LiveInterval is how often open pages are refreshed from PVE (3 s).
	LiveInterval time.Duration
	// TrustedProxies may name the client in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// Metrics records requests and sign-ins (nil: none).
	Metrics *metrics.Metrics
	// Checks decide GET /readyz: each names a dependency and how to ask it.
	Checks []Check
	// LiveShared lets several instances share one PVE poll per user
	// (nil: this instance polls for its own pages).
	LiveShared live.Shared
	// LiveStreamsPerSession caps the live-update streams (open pages) one
	// session has on this instance (6); opening one more closes the oldest.
	LiveStreamsPerSession int
	// LiveStreamsPerUser caps them per user on this instance, all sessions
	// together (30); opening one more closes the user's oldest.
	LiveStreamsPerUser int
	// ConsoleIdleTimeout closes a console after this long without input
	// from the person (CONSOLE_IDLE_TIMEOUT; 30 min when zero).
	ConsoleIdleTimeout time.Duration
	// PublicURL is the dashboard's address as browsers reach it
	// (PUBLIC_URL, no trailing slash). OpenID sign-ins send providers
	// back to PublicURL + "/login/openid"; without it they cannot start.
	PublicURL string
	// BulkSlots bounds the PVE tasks of bulk actions per person across
	// instances; BulkJobs keeps their progress for every instance to
	// show (nil: in this process only).
	BulkSlots jobs.Slots
	BulkJobs  jobs.Store
	// BulkPoll is how often, at most, a bulk action asks PVE about a
	// running task (1 s; it asks sooner at first).
	BulkPoll time.Duration
}

// Check is one dependency /readyz asks: Redis, PVE.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Server serves the dashboard.
type Server struct {
	cfg     Config
	log     *slog.Logger
	pages   *renderer
	live    *live.Hub
	ctLive  *live.Hub // one feed per user and open container page
	recent  recentOverviews
	streams *streamRegistry
	// eventConns are the event streams on connections taken over from
	// net/http, and peers notices their pages going away (eventconn.go).
	eventConns takenConns
	peers      *peerWatch
	// consoles are the open container consoles (console_hub.go).
	consoles *consoleHub
	views    viewCache
	// liveRenders counts renders of the live part of the page for streams.
	liveRenders atomic.Int64
	realms      realmCache
	handler     http.Handler
	// backupAgesCache keeps each user's newest backups (lastbackup.go).
	backupAgesCache backupAgeCache
	bulk            *bulkRunner // bulk actions running on this instance
	closeOnce       sync.Once
}

// New checks cfg, parses the templates and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.PVE == nil || cfg.Store == nil || cfg.Codec == nil || cfg.Limiter == nil || cfg.StepClaims == nil {
		return nil, errors.New("web: PVE, Store, Codec, Limiter and StepClaims are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 2 * time.Hour
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 12 * time.Hour
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = 10 * time.Second
	}
	if len(cfg.Realms) == 0 {
		cfg.Realms = DefaultRealms()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LiveStreamsPerSession <= 0 {
		cfg.LiveStreamsPerSession = defaultStreamsPerSession
	}
	if cfg.LiveStreamsPerUser <= 0 {
		cfg.LiveStreamsPerUser = defaultStreamsPerUser
	}
	pages, err := newRenderer()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, pages: pages}
	s.live = live.New(s.fetchOverview, live.Options{Interval: cfg.LiveInterval, Logger: cfg.Logger, Shared: cfg.LiveShared})
	s.ctLive = live.NewKeyed(s.fetchContainerLive, live.Options{Interval: cfg.LiveInterval, Logger: cfg.Logger, Shared: cfg.LiveShared})
	s.streams = newStreamRegistry(cfg.LiveStreamsPerSession, cfg.LiveStreamsPerUser, s.liveInterval(), s.streamSessionEnded)
	s.peers = newPeerWatch(peerCheckEvery)
	s.consoles = newConsoleHub(s)
	s.bulk = s.newBulkRunner()
	s.handler = s.routes()
	return s, nil
}

// Close stops the live pollers and the session checks of open event
// streams, and ends the streams and consoles, waiting a moment for each
// to tell its page. It may be called more than once, also concurrently
// (http.Server's shutdown hook, then serve): every call returns once the
// first has finished.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.bulk.close()
		s.live.Close()
		s.ctLive.Close()
		s.eventConns.shutdown(consoleGoodbye)
		s.peers.close()
		s.streams.close()
		s.consoles.shutdown()
	})
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}
