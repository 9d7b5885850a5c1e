package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// privPower is the privilege every lifecycle action needs.
const privPower = "VM.PowerMgmt"

// containersPage is the data of the container list (the home page).
type containersPage struct {
	Query   listQuery
	Version lxc.Version
	Live    liveView
	// CanCreate shows "New container" (VM.Allocate somewhere, create.go).
	CanCreate bool
}

// liveView is the part of the page that live updates replace.
type liveView struct {
	Query   listQuery
	Nodes   []lxc.Node
	Rows    []containerRow
	Total   int // containers, templates not included
	Running int
	Stopped int
	// Templates are counted apart: they never run, and the status
	// filters leave them out (listQuery.matches).
	Templates int
	Shown     int // containers matching the view
	// The page of the view shown: rows First..Last (1-based) of Shown.
	First, Last  int
	PrevPage     int // 0 when on the first page
	NextPage     int // 0 when on the last page
	OfflineNodes []string
	// Problem is a curated banner when the last poll failed; the rows are
	// then the last known data, marked stale.
	Problem    string
	Stale      bool
	StaleSince string
	Updated    string
	// The "last backup" column (lastbackup.go).
	BackupsShown bool
	StaleText    string
}

// containerRow is one container with what the viewer may do to it.
type containerRow struct {
	lxc.Container
	Actions  []lxc.Action // offered in this state and permitted
	ReadOnly bool         // the viewer lacks VM.PowerMgmt on it
	Backup   backupCell   // the "last backup" column
}

// identity is the PVE identity stored in a session, its sealed ticket and
// CSRF token opened. Values that do not open give an identity PVE refuses
// (an empty ticket), which ends the session the usual way.
func (s *Server) identity(sess session.Session) lxc.Identity {
	opened, err := s.cfg.Codec.OpenSession(sess)
	if err != nil {
		s.log.Warn("session secrets do not open", "user", sess.Username, "err", err)
		return lxc.Identity{Username: sess.Username}
	}
	return lxc.Identity{Username: opened.Username, Ticket: opened.Ticket, CSRFToken: opened.CSRFToken}
}

// endSession deletes a session from the store, logging a failure.
func (s *Server) endSession(ctx context.Context, sess session.Session) {
	if err := s.cfg.Store.Delete(ctx, sess.ID); err != nil {
		s.log.Error("delete session", "user", sess.Username, "err", err)
	}
}

// permsMaxAge is how long a poller reuses a user's permissions: they only
// decide which buttons show (PVE checks every action itself), and the full
// list is large on big clusters.
const permsMaxAge = 30 * time.Second

// versionMaxAge is how long a poller reuses PVE's version (shown in the
// list page's header; it changes with an upgrade of PVE).
const versionMaxAge = 5 * time.Minute

// fetchOverview is one poll for one user: the containers (one call to
// /cluster/resources), the nodes and, unless prev has recent ones, the
// user's permissions and PVE's version, in parallel.
func (s *Server) fetchOverview(ctx context.Context, id lxc.Identity, prev live.Snapshot) (live.Snapshot, error) {
	var (
		snap                   live.Snapshot
		cerr, nerr, perr, verr error
		wg                     sync.WaitGroup
	)
	now := s.cfg.Now()
	wg.Go(func() { snap.Containers, cerr = s.cfg.PVE.Containers(ctx, id) })
	wg.Go(func() { snap.Nodes, nerr = s.cfg.PVE.Nodes(ctx, id) })
	if prev.Perms != nil && now.Sub(prev.PermsAt) < permsMaxAge {
		snap.Perms, snap.PermsAt = prev.Perms, prev.PermsAt
	} else {
		wg.Go(func() { snap.Perms, perr = s.permissions(ctx, id) })
		snap.PermsAt = now
	}
	if !prev.VersionAt.IsZero() && now.Sub(prev.VersionAt) < versionMaxAge {
		snap.Version, snap.VersionAt = prev.Version, prev.VersionAt
	} else {
		wg.Go(func() { snap.Version, verr = s.cfg.PVE.Version(ctx, id) })
		snap.VersionAt = now
	}
	wg.Wait()
	for _, err := range []error{cerr, nerr, perr, verr} {
		if err != nil {
			return live.Snapshot{}, err
		}
	}
	snap.FetchedAt = s.cfg.Now()
	return snap, nil
}

// permissions returns what decides which action buttons show. It first asks
// for /vms alone: a user who may power-manage every guest (an administrator)
// needs nothing more, and the full list is large on big clusters. Others get
// the full list, which names their pools and single guests.
func (s *Server) permissions(ctx context.Context, id lxc.Identity) (lxc.Permissions, error) {
	top, err := s.cfg.PVE.Permissions(ctx, id, "/vms")
	if err != nil {
		return nil, err
	}
	if top.Has("/vms", privPower) {
		if prop := top["/vms"][privPower]; prop {
			return top, nil
		}
	}
	return s.cfg.PVE.Permissions(ctx, id, "")
}

// overview returns a fresh snapshot for the signed-in user: the live
// poller's when it is recent, else one polled for this user within the
// interval (recentOverviews), else a poll of its own.
func (s *Server) overview(ctx context.Context, sess session.Session) live.Snapshot {
	if snap, ok := s.live.Latest(sess.Username, s.liveInterval()); ok {
		return snap
	}
	snap, err := s.recent.get(ctx, sess.Username, sess.ID, s.liveInterval(), func(ctx context.Context, prev live.Snapshot) (live.Snapshot, error) {
		return s.fetchOverview(ctx, s.identity(sess), prev)
	})
	if err != nil {
		snap.Err = err
		return snap
	}
	return s.live.Apply(sess.Username, snap)
}

func (s *Server) liveInterval() time.Duration {
	if s.cfg.LiveInterval > 0 {
		return s.cfg.LiveInterval
	}
	return 3 * time.Second
}

// buildLiveView turns a snapshot into what the page shows for query q.
func buildLiveView(snap live.Snapshot, q listQuery) liveView {
	v := liveView{Query: q, Nodes: snap.Nodes}
	for _, n := range snap.Nodes {
		if n.Status != "online" {
			v.OfflineNodes = append(v.OfflineNodes, n.Name)
		}
	}
	for _, c := range snap.Containers {
		if c.Template {
			v.Templates++
			continue
		}
		v.Total++
		switch c.Status {
		case "running":
			v.Running++
		case "stopped":
			v.Stopped++
		}
	}
	matching := q.apply(snap.Containers)
	v.Shown = len(matching)
	start := min((q.Page-1)*pageSize, max(0, (v.Shown-1)/pageSize*pageSize))
	end := min(start+pageSize, v.Shown)
	shown := matching[start:end]
	if v.Shown > 0 {
		v.First, v.Last = start+1, end
	}
	if start > 0 {
		v.PrevPage = start / pageSize
	}
	if end < v.Shown {
		v.NextPage = start/pageSize + 2
	}
	v.Rows = make([]containerRow, len(shown))
	for i, c := range shown {
		v.Rows[i] = containerRow{Container: c}
		if !snap.Perms.CanOnContainer(c.VMID, c.Pool, privPower) {
			v.Rows[i].ReadOnly = true
			continue
		}
		v.Rows[i].Actions = offeredActions(c)
	}
	if snap.Err != nil {
		_, v.Problem = userError(snap.Err)
		v.Stale = !snap.FetchedAt.IsZero()
		if v.Stale {
			v.StaleSince = snap.FetchedAt.Format("15:04:05")
		}
	}
	if !snap.FetchedAt.IsZero() {
		v.Updated = snap.FetchedAt.Format("15:04:05")
	}
	return v
}

// offeredActions are the lifecycle actions that make sense in c's state.
func offeredActions(c lxc.Container) []lxc.Action {
	switch {
	case c.Template:
		return nil
	case c.Status == "running":
		return []lxc.Action{lxc.ActionShutdown, lxc.ActionReboot, lxc.ActionStop}
	case c.Status == "stopped":
		return []lxc.Action{lxc.ActionStart}
	}
	return nil
}

// containers is the home page: every container the user may see. With a
// fresh live snapshot (the user has a page open, on any instance) it costs
// no PVE call: the snapshot carries PVE's version too.
func (s *Server) containers(w http.ResponseWriter, r *http.Request) error {
	sess, _ := currentSession(r.Context())
	q := parseListQuery(r.URL.Query())
	var (
		ages backupAges
		wg   sync.WaitGroup
	)
	wg.Go(func() { ages = s.backupAges(r.Context(), sess, true) })
	snap := s.overview(r.Context(), sess)
	version, verr := snap.Version, error(nil)
	if snap.VersionAt.IsZero() && snap.Err == nil {
		// A snapshot from before the version travelled with it.
		version, verr = s.cfg.PVE.Version(r.Context(), s.identity(sess))
	}
	wg.Wait()
	for _, err := range []error{snap.Err, verr} {
		if lxc.ErrorCode(err) == lxc.EUnauthorized {
			s.endSession(r.Context(), sess)
			s.log.Info("session ended: PVE refused the ticket", "request_id", requestID(r.Context()), "user", sess.Username)
			s.toLogin(w, r, "expired")
			return nil
		}
	}
	if snap.Err != nil {
		s.log.Warn("containers: PVE poll failed", "request_id", requestID(r.Context()), "user", sess.Username, "err", snap.Err)
	}
	p := containersPage{Query: q, Version: version, Live: buildLiveView(snap, q)}
	p.Live.addBackups(ages, snap.Perms, s.cfg.Now())
	p.CanCreate = provisionPerms{perms: snap.Perms, root: sess.Username == "root@pam"}.canCreate()
	s.render(w, r, http.StatusOK, "containers", p)
	return nil
}

// containerLabel is how messages name a container.
func containerLabel(vmid int) string { return fmt.Sprintf("CT %d", vmid) }
