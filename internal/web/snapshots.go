package web

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// The snapshots section of the container page: the snapshot tree with
// "You are here", and the forms that take, roll back, delete and describe
// snapshots (snapshot_actions.go), offered by the viewer's privileges.

// Snapshot privileges (§5.4 of the PVE facts): VM.Snapshot takes, deletes
// and describes; a rollback needs VM.Snapshot or VM.Snapshot.Rollback.
const (
	privSnapshot = "VM.Snapshot"
	privRollback = "VM.Snapshot.Rollback"
)

// snapshotCan says which snapshot operations the viewer may start.
type snapshotCan struct {
	Take     bool // take, delete and describe (VM.Snapshot)
	Rollback bool
}

// snapNode is one snapshot (or the current state) in the tree, with what
// its forms need.
type snapNode struct {
	lxc.Snapshot
	When     string // "2026-03-01 12:00"
	ISO      string // for <time datetime>
	Ago      string // "3 days ago"
	Branches []snapChain
	Base     string // the container page's path
	Can      snapshotCan
}

// snapChain is a line of descent drawn as one list: each entry's only
// child follows it; an entry with several children ends the chain and
// holds one chain per child.
type snapChain struct{ Nodes []snapNode }

// snapshotsView is the data of the section.
type snapshotsView struct {
	Base      string // the container page's path
	VMID      int
	Loaded    bool
	Roots     []snapChain
	Count     int  // snapshots, the current state not counted
	Supported bool // every volume is on storage that can take snapshots
	Template  bool
	Running   bool
	Lock      string
	Can       snapshotCan
	// The take form after a refused attempt: what was typed and why.
	Name, Description, NameError string
	// Error is a refusal of another snapshot form, shown above the tree.
	Error string
	// Problem says the list could not be loaded.
	Problem string
}

// NameRule is PVE's rule for snapshot names, shown at the name field.
func (v snapshotsView) NameRule() string { return lxc.SnapshotNameRule }

// MaxName is the longest name PVE takes.
func (v snapshotsView) MaxName() int { return lxc.MaxSnapshotName }

// CanTake reports whether the take form is offered.
func (v snapshotsView) CanTake() bool { return v.Can.Take && v.Supported && !v.Template && v.Loaded }

// loadSnapshots reads the snapshot list and whether the storage can take
// snapshots, in parallel. Failures leave a curated Problem; the rest of
// the page is unaffected.
func (s *Server) loadSnapshots(ctx context.Context, id lxc.Identity, t target) snapshotsView {
	v := snapshotsView{Base: containerPath(t), VMID: t.VMID}
	var (
		list       []lxc.Snapshot
		lerr, ferr error
		wg         sync.WaitGroup
	)
	wg.Go(func() { list, lerr = s.cfg.PVE.Snapshots(ctx, id, t.Node, t.VMID) })
	wg.Go(func() { v.Supported, ferr = s.cfg.PVE.CanSnapshot(ctx, id, t.Node, t.VMID) })
	wg.Wait()
	if lerr != nil {
		s.log.Warn("container page: snapshots", "vmid", t.VMID, "err", lerr)
		v.Problem = "The snapshots could not be loaded."
		return v
	}
	if ferr != nil {
		s.log.Warn("container page: snapshot feature", "vmid", t.VMID, "err", ferr)
		v.Supported = true // PVE's task will say if it is not
	}
	v.Loaded = true
	v.Roots, v.Count = snapshotTree(list, s.cfg.Now())
	return v
}

// finish adds what the rest of the page knows: the viewer's privileges
// and the container's state.
func (v *snapshotsView) finish(p lxc.Permissions, ct lxc.Container) {
	has := func(priv string) bool { return p.CanOnContainer(v.VMID, ct.Pool, priv) }
	v.Can = snapshotCan{Take: has(privSnapshot), Rollback: has(privSnapshot) || has(privRollback)}
	v.Template, v.Running, v.Lock = ct.Template, ct.Running(), ct.Lock
	var mark func(cs []snapChain)
	mark = func(cs []snapChain) {
		for i := range cs {
			for j := range cs[i].Nodes {
				n := &cs[i].Nodes[j]
				n.Base, n.Can = v.Base, v.Can
				if n.Current {
					n.Running = v.Running
				}
				mark(n.Branches)
			}
		}
	}
	mark(v.Roots)
}

// snapshotTree arranges PVE's flat list (in any order) as a tree: roots
// are snapshots without a (known) parent, children oldest first, the
// current state after its parent's snapshot children.
func snapshotTree(list []lxc.Snapshot, now time.Time) ([]snapChain, int) {
	byName := map[string]bool{}
	for _, s := range list {
		byName[s.Name] = true
	}
	children := map[string][]lxc.Snapshot{}
	var roots []lxc.Snapshot
	count := 0
	for _, s := range list {
		if !s.Current {
			count++
		}
		if s.Parent != "" && byName[s.Parent] && s.Parent != s.Name {
			children[s.Parent] = append(children[s.Parent], s)
		} else {
			roots = append(roots, s)
		}
	}
	order := func(l []lxc.Snapshot) {
		sort.SliceStable(l, func(i, j int) bool {
			if l[i].Current != l[j].Current {
				return !l[i].Current
			}
			if !l[i].Time.Equal(l[j].Time) {
				return l[i].Time.Before(l[j].Time)
			}
			return l[i].Name < l[j].Name
		})
	}
	seen := map[string]bool{}
	var chain func(s lxc.Snapshot) snapChain
	chain = func(s lxc.Snapshot) snapChain {
		var c snapChain
		for {
			if seen[s.Name] && !s.Current { // a cycle in a damaged file
				return c
			}
			seen[s.Name] = true
			n := newSnapNode(s, now)
			kids := children[s.Name]
			if s.Current {
				kids = nil
			}
			order(kids)
			if len(kids) != 1 {
				for _, k := range kids {
					n.Branches = append(n.Branches, chain(k))
				}
				c.Nodes = append(c.Nodes, n)
				return c
			}
			c.Nodes = append(c.Nodes, n)
			s = kids[0]
		}
	}
	order(roots)
	out := make([]snapChain, 0, len(roots))
	for _, r := range roots {
		out = append(out, chain(r))
	}
	return out, count
}

func newSnapNode(s lxc.Snapshot, now time.Time) snapNode {
	n := snapNode{Snapshot: s}
	if !s.Time.IsZero() {
		n.When = s.Time.Format("2006-01-02 15:04")
		n.ISO = s.Time.UTC().Format(time.RFC3339)
		n.Ago = formatAge(now.Sub(s.Time))
	}
	return n
}

// formatAge renders how long ago something happened: "just now", "5
// minutes ago", "3 hours ago", "2 days ago".
func formatAge(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s ago", unit)
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/(24*time.Hour)), "day")
	}
}
