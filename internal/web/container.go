package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/markdown"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Privileges the container page checks (§5.4 of the PVE facts).
const (
	privAudit   = "VM.Audit"
	privCPU     = "VM.Config.CPU"
	privMemory  = "VM.Config.Memory"
	privNetwork = "VM.Config.Network"
	privOptions = "VM.Config.Options"
	privDisk    = "VM.Config.Disk"
)

// recentTasks is how many of a container's tasks its page lists.
const recentTasks = 15

// containerCan says what the viewer may change on one container.
type containerCan struct {
	Power, CPU, Memory, Network, Options, Disk bool
	// Allocate (convert, delete) and Clone decide the ct-manage buttons.
	Allocate, Clone bool
}

// Any reports whether the viewer may change anything at all.
func (c containerCan) Any() bool { return c.CPU || c.Memory || c.Network || c.Options || c.Disk }

func canOn(p lxc.Permissions, vmid int, pool string) containerCan {
	has := func(priv string) bool { return p.CanOnContainer(vmid, pool, priv) }
	return containerCan{Power: has(privPower), CPU: has(privCPU), Memory: has(privMemory),
		Network: has(privNetwork), Options: has(privOptions), Disk: has(privDisk),
		Allocate: has(privAllocate), Clone: has(privClone)}
}

// ipAddr is one address shown on the container page.
type ipAddr struct {
	Iface  string
	Addr   string
	Source string // "live" (from the running container) or "configured"
}

// taskRow is one of the container's recent tasks.
type taskRow struct {
	lxc.TaskEntry
	Started  string
	Duration string
	OK       bool
	URL      string
}

// containerView is everything the container page shows.
type containerView struct {
	Target   target
	CT       lxc.Container
	Config   lxc.Config
	Pending  []lxc.PendingChange // keys whose change waits for the next start
	IPs      []ipAddr
	Notes    template.HTML
	Tasks    []taskRow
	Can      containerCan
	Actions  []lxc.Action
	Charts   chartQuery
	Latest   []latestValue // the newest RRD sample, for pages without script
	Settings settingsForms
	Flash    string
	// Problem is a curated note about a part that could not be loaded.
	Problem string
	// Snapshots and Backups are their sections (snapshots.go, backups.go).
	Snapshots snapshotsView
	Backups   backupsView
}

// Title is the page's heading: "CT 101 web-01".
func (v containerView) Title() string {
	if v.CT.Name != "" {
		return containerLabel(v.Target.VMID) + " " + v.CT.Name
	}
	return containerLabel(v.Target.VMID)
}

// Live is the part of the page live updates replace.
func (v containerView) Live() ctLiveView { return ctLiveView{CT: v.CT} }

// Unprivileged reports PVE's unprivileged flag (privileged when unset).
func (v containerView) Unprivileged() bool { return v.Config.Bool("unprivileged", false) }

// LiveURL is the container's event stream.
func (v containerView) LiveURL() string {
	return fmt.Sprintf("/containers/%s/%d/events", url.PathEscape(v.Target.Node), v.Target.VMID)
}

// BaseURL is the container page's path.
func (v containerView) BaseURL() string {
	return fmt.Sprintf("/containers/%s/%d", url.PathEscape(v.Target.Node), v.Target.VMID)
}

// containerPageNotFound and friends are the curated answers for a page that
// cannot be shown.
func msgCTNotFound(t target) string {
	return fmt.Sprintf("%s was not found on %s.", containerLabel(t.VMID), t.Node)
}

func msgCTForbidden(t target) string {
	return fmt.Sprintf("You don't have permission to see %s.", containerLabel(t.VMID))
}

// container shows one container (GET /containers/{node}/{vmid}).
func (s *Server) container(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return err
	}
	sess, _ := currentSession(r.Context())
	v, err := s.loadContainer(r.Context(), sess, t)
	if err != nil {
		return s.containerFailed(w, r, sess, t, err)
	}
	v.Charts = parseChartQuery(r.URL.Query())
	v.Settings = settingsFromConfig(v.Config, v.Can)
	v.Flash = s.takeFlash(w, r, t)
	if pts, err := s.cfg.PVE.RRDData(r.Context(), s.identity(sess), t.Node, t.VMID, "hour", "AVERAGE"); err == nil {
		v.Latest = latestValues(pts)
	}
	s.render(w, r, http.StatusOK, "container", v)
	return nil
}

// containerFailed answers a container page that PVE would not give: the
// session ended, the container is elsewhere or missing, or the viewer may
// not see it.
func (s *Server) containerFailed(w http.ResponseWriter, r *http.Request, sess session.Session, t target, err error) error {
	var moved *errMoved
	if errors.As(err, &moved) {
		u := fmt.Sprintf("/containers/%s/%d", url.PathEscape(moved.node), t.VMID)
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return nil
	}
	switch lxc.ErrorCode(err) {
	case lxc.EUnauthorized:
		s.endSession(r.Context(), sess)
		s.toLogin(w, r, "expired")
		return nil
	case lxc.EForbidden:
		s.log.Info("container page refused", "request_id", requestID(r.Context()), "user", sess.Username, "vmid", t.VMID, "err", err)
		return s.renderError(w, r, http.StatusForbidden, "Forbidden", msgCTForbidden(t))
	case lxc.ENotFound:
		s.log.Info("container page: no such container", "request_id", requestID(r.Context()), "vmid", t.VMID, "node", t.Node)
		return s.renderError(w, r, http.StatusNotFound, "Not Found", msgCTNotFound(t))
	}
	return err
}

// renderError shows the error page with a curated message.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) error {
	if !wantsHTML(r) {
		http.Error(w, msg, status)
		return nil
	}
	s.render(w, r, status, "error", errorPage{Title: title, Message: msg, RequestID: requestID(r.Context())})
	return nil
}

// errMoved says that the container lives on another node.
type errMoved struct{ node string }

func (e *errMoved) Error() string { return "container is on node " + e.node }

// loadContainer gathers the container page's data in parallel: the state
// now, the configuration (with pending changes), recent tasks and the
// viewer's privileges on it. A container PVE does not know on that node is
// looked up in the cluster overview, so that a missing one is told from
// one that moved.
func (s *Server) loadContainer(ctx context.Context, sess session.Session, t target) (containerView, error) {
	id := s.identity(sess)
	v := containerView{Target: t}
	var (
		serr, cerr, terr, xerr, perr error
		pending                      []lxc.PendingChange
		perms                        lxc.Permissions
		snap                         live.Snapshot
		tasks                        []lxc.TaskEntry
		wg                           sync.WaitGroup
	)
	wg.Go(func() { v.CT, serr = s.cfg.PVE.ContainerStatus(ctx, id, t.Node, t.VMID) })
	wg.Go(func() { v.Config, cerr = s.cfg.PVE.ContainerConfig(ctx, id, t.Node, t.VMID, false) })
	wg.Go(func() { pending, xerr = s.cfg.PVE.ContainerPending(ctx, id, t.Node, t.VMID) })
	// Pool and tags come from the cluster overview (the live snapshot while
	// any of the user's pages is open); the privileges on this container
	// are asked for now, so a changed ACL shows at once (PVE resolves the
	// pool itself for one path).
	wg.Go(func() { snap = s.overview(ctx, sess) })
	wg.Go(func() { perms, perr = s.cfg.PVE.Permissions(ctx, id, lxc.VMPath(t.VMID)) })
	wg.Go(func() {
		tasks, _, terr = s.cfg.PVE.NodeTasks(ctx, id, t.Node, lxc.TaskFilter{VMID: t.VMID, Limit: recentTasks, Source: "all"})
	})
	wg.Go(func() { v.Snapshots = s.loadSnapshots(ctx, id, t) })
	wg.Go(func() { v.Backups = s.loadBackups(ctx, id, t) })
	wg.Wait()
	if serr != nil {
		return v, s.classifyMissing(ctx, sess, t, serr)
	}
	if cerr != nil {
		return v, cerr
	}
	v.CT.Node = t.Node
	if perr != nil {
		return v, perr
	}
	// The overview's privileges name the pools (for restoring or creating
	// elsewhere); this container's own entry is the fresh answer.
	all := lxc.Permissions{}
	if snap.Err == nil {
		overviewInto(snap, &v.CT)
		maps.Copy(all, snap.Perms)
	}
	maps.Copy(all, perms)
	v.Can = canOn(all, t.VMID, v.CT.Pool)
	v.Snapshots.finish(all, v.CT)
	v.Backups.finish(all, v.CT)
	if v.Can.Power {
		v.Actions = offeredActions(v.CT)
	}
	if xerr == nil {
		for _, p := range pending {
			if p.HasNew || p.Delete {
				v.Pending = append(v.Pending, p)
			}
		}
	} else {
		s.log.Warn("container page: pending changes", "vmid", t.VMID, "err", xerr)
	}
	if terr == nil {
		v.Tasks = taskRows(tasks, s.cfg.Now())
	} else {
		s.log.Warn("container page: tasks", "vmid", t.VMID, "err", terr)
		v.Problem = "The container's recent tasks could not be loaded."
	}
	v.IPs = s.addresses(ctx, id, t, v.CT, v.Config)
	v.Notes = markdown.Render(v.Config.Get("description"))
	return v, nil
}

// classifyMissing turns PVE's refusal of status/current into what happened:
// a permission error stays one; a refusal (PVE: "Configuration file ...
// does not exist") is checked against the viewer's cluster overview, which
// says whether the container is elsewhere (errMoved) or gone (ENotFound).
func (s *Server) classifyMissing(ctx context.Context, sess session.Session, t target, err error) error {
	if lxc.ErrorCode(err) != lxc.ERefused {
		return err
	}
	snap := s.overview(ctx, sess)
	if snap.Err != nil {
		return err
	}
	for _, c := range snap.Containers {
		if c.VMID == t.VMID && c.Node != t.Node {
			return &errMoved{node: c.Node}
		}
	}
	return &lxc.Error{Code: lxc.ENotFound, Message: msgCTNotFound(t), Err: err}
}

// mergeOverview adds what only the cluster overview knows (the pool, tags)
// from the viewer's live snapshot, when a page of theirs keeps one fresh.
func (s *Server) mergeOverview(sess session.Session, ct *lxc.Container) {
	if snap, ok := s.live.Latest(sess.Username, 10*s.liveInterval()); ok {
		overviewInto(snap, ct)
	}
}

// overviewInto adds what only the cluster overview knows (the pool, tags
// as PVE lists them) from the viewer's snapshot.
func overviewInto(snap live.Snapshot, ct *lxc.Container) {
	for _, c := range snap.Containers {
		if c.VMID == ct.VMID {
			ct.Pool = c.Pool
			if len(ct.Tags) == 0 {
				ct.Tags = c.Tags
			}
			return
		}
	}
}

// addresses lists the container's IP addresses: what the running container
// reports, else what its network configuration says.
func (s *Server) addresses(ctx context.Context, id lxc.Identity, t target, ct lxc.Container, cfg lxc.Config) []ipAddr {
	var out []ipAddr
	if ct.Running() {
		ifs, err := s.cfg.PVE.Interfaces(ctx, id, t.Node, t.VMID)
		if err == nil {
			for _, i := range ifs {
				if i.Name == "lo" {
					continue
				}
				for _, a := range []string{i.Inet, i.Inet6} {
					if a != "" {
						out = append(out, ipAddr{Iface: i.Name, Addr: a, Source: "live"})
					}
				}
			}
			return out
		}
		s.log.Warn("container page: interfaces", "vmid", t.VMID, "err", err)
	}
	for _, k := range cfg.NetKeys() {
		n := lxc.ParsePropertyString(cfg.Get(k))
		for _, key := range []string{"ip", "ip6"} {
			if a := n.Get(key); a != "" {
				out = append(out, ipAddr{Iface: n.Get("name"), Addr: a, Source: "configured"})
			}
		}
	}
	return out
}

// taskRows formats tasks for the page, newest first.
func taskRows(tasks []lxc.TaskEntry, now time.Time) []taskRow {
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].StartTime > tasks[j].StartTime })
	out := make([]taskRow, len(tasks))
	for i, t := range tasks {
		start := time.Unix(t.StartTime, 0)
		end := now
		if !t.Running() {
			end = time.Unix(t.EndTime, 0)
		}
		out[i] = taskRow{
			TaskEntry: t,
			Started:   start.Format("2006-01-02 15:04:05"),
			Duration:  formatSeconds(end.Sub(start)),
			OK:        t.Status == "OK" || strings.HasPrefix(t.Status, "WARNINGS"),
			URL:       "/tasks/" + url.PathEscape(t.Node) + "/" + url.PathEscape(t.UPID),
		}
	}
	return out
}

// formatSeconds renders a task's duration ("4s", "2m 5s", "1h 3m").
func formatSeconds(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}
