package web

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// The list page's "last backup" column: the age of each container's
// newest backup, red when older than a threshold set in the URL
// (?stale_backup=7d). It comes from one storage-content call per backup
// storage (a node's own storage once per node, a shared one once), made at
// most once a minute per user and kept in this instance.

// defaultStaleBackup is the threshold without ?stale_backup.
const defaultStaleBackup = 7 * 24 * time.Hour

// backupAgesMaxAge is how long one user's newest backups are reused.
const backupAgesMaxAge = time.Minute

// backupListConcurrency bounds the storage-content calls at once.
const backupListConcurrency = 8

var staleRe = regexp.MustCompile(`^([1-9][0-9]{0,3})([hdw])$`)

// parseStale reads a threshold like "36h", "7d" or "2w"; ok is false for
// anything else.
func parseStale(v string) (time.Duration, bool) {
	m := staleRe.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, true
}

// formatStale says a threshold in words ("7 days", "36 hours").
func formatStale(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0 && d >= 14*24*time.Hour:
		return fmt.Sprintf("%d weeks", d/(7*24*time.Hour))
	case d%(24*time.Hour) == 0:
		if d == 24*time.Hour {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	if d == time.Hour {
		return "1 hour"
	}
	return fmt.Sprintf("%d hours", d/time.Hour)
}

// backupAges is the newest backup per container, as one user may see
// them.
type backupAges struct {
	At     time.Time
	Newest map[int]int64 // vmid -> unix time of the newest backup
	// Known is set when at least one backup storage could be listed.
	Known bool
	// PVE lists a backup to those with Datastore.Allocate on its storage,
	// or Datastore.AllocateSpace there and VM.Backup on the container:
	// Allocate and Space say whether the user holds either on a listed
	// storage, so that "never" is said only where backups would show.
	Allocate, Space bool
}

// backupCell is what one row's column shows.
type backupCell struct {
	Text  string // "3 days ago", "never", "–"
	Title string // the time, for the tooltip
	Stale bool
}

// cell is the column of container c at now with threshold stale; p are
// the viewer's privileges.
func (b backupAges) cell(c lxc.Container, p lxc.Permissions, now time.Time, stale time.Duration) backupCell {
	t, ok := b.Newest[c.VMID]
	switch {
	case ok:
	case !b.Known:
		return backupCell{Text: "–", Title: "No backup storage could be listed"}
	case !b.Allocate && !(b.Space && p.CanOnContainer(c.VMID, c.Pool, privBackup)):
		return backupCell{Text: "–", Title: "Proxmox VE does not list this container's backups to you"}
	default:
		return backupCell{Text: "never", Stale: true}
	}
	at := time.Unix(t, 0)
	return backupCell{Text: formatAge(now.Sub(at)), Title: at.Format("2006-01-02 15:04"), Stale: now.Sub(at) > stale}
}

// addBackups fills the rows' column.
func (v *liveView) addBackups(b backupAges, p lxc.Permissions, now time.Time) {
	stale := v.Query.staleAfter()
	for i := range v.Rows {
		v.Rows[i].Backup = b.cell(v.Rows[i].Container, p, now, stale)
	}
	v.BackupsShown, v.StaleText = true, formatStale(stale)
}

// newestBackups folds backup lists into the newest time per vmid.
func newestBackups(lists ...[]lxc.Backup) map[int]int64 {
	out := map[int]int64{}
	for _, l := range lists {
		for _, b := range l {
			if t := b.Time.Unix(); t > out[b.VMID] {
				out[b.VMID] = t
			}
		}
	}
	return out
}

// backupAgeCache keeps each user's backupAges; the zero value is ready.
type backupAgeCache struct {
	mu    sync.Mutex
	users map[string]*backupAgeEntry
}

type backupAgeEntry struct {
	cur     backupAges
	loading chan struct{} // closed when the running fetch ends; nil if none
}

// backupAges returns the user's newest backups: the cached ones when
// younger than a minute, else fetched again. With wait the caller waits
// for the fetch (the list page); without, it gets what is cached (perhaps
// nothing) and the fetch runs in the background (live updates).
func (s *Server) backupAges(ctx context.Context, sess session.Session, wait bool) backupAges {
	c := &s.backupAgesCache
	c.mu.Lock()
	if c.users == nil {
		c.users = map[string]*backupAgeEntry{}
	}
	e := c.users[sess.Username]
	if e == nil {
		e = &backupAgeEntry{}
		c.users[sess.Username] = e
	}
	cur, loading := e.cur, e.loading
	fresh := !cur.At.IsZero() && s.cfg.Now().Sub(cur.At) < backupAgesMaxAge
	if fresh || (loading != nil && !wait) {
		c.mu.Unlock()
		return cur
	}
	if loading == nil {
		loading = make(chan struct{})
		e.loading = loading
		id := s.identity(sess)
		go func() {
			fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			got := s.fetchBackupAges(fctx, id)
			c.mu.Lock()
			if got.Known || e.cur.At.IsZero() {
				e.cur = got
			}
			e.loading = nil
			c.mu.Unlock()
			close(loading)
		}()
	}
	c.mu.Unlock()
	if !wait {
		return cur
	}
	select {
	case <-loading:
	case <-ctx.Done():
		return cur
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return e.cur
}

// fetchBackupAges lists every backup storage the user may see: a shared
// one once (on the first node listing it), a node's own storage on that
// node.
func (s *Server) fetchBackupAges(ctx context.Context, id lxc.Identity) backupAges {
	out := backupAges{At: s.cfg.Now()}
	entries, err := s.cfg.PVE.StorageEntries(ctx, id)
	if err != nil {
		s.log.Warn("last backups: storages", "user", id.Username, "err", err)
		return out
	}
	var places []place
	shared := map[string]bool{}
	for _, e := range entries {
		if !e.Holds("backup") || e.Status == "unknown" {
			continue
		}
		if e.Shared {
			if shared[e.Storage] {
				continue
			}
			shared[e.Storage] = true
		}
		places = append(places, place{e.Node, e.Storage})
	}
	lists := make([][]lxc.Backup, len(places))
	oks := make([]bool, len(places))
	sem := make(chan struct{}, backupListConcurrency)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for sid := range storageIDs(places) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := s.cfg.PVE.Permissions(ctx, id, "/storage/"+sid)
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			out.Allocate = out.Allocate || p.Has("/storage/"+sid, privStoreAllocate)
			out.Space = out.Space || p.Has("/storage/"+sid, privSpace)
		})
	}
	for i, p := range places {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := s.cfg.PVE.Backups(ctx, id, p.node, p.storage, 0)
			if err != nil {
				s.log.Debug("last backups: storage content", "user", id.Username, "node", p.node, "storage", p.storage, "err", err)
				return
			}
			lists[i], oks[i] = l, true
		})
	}
	wg.Wait()
	for _, ok := range oks {
		out.Known = out.Known || ok
	}
	out.Newest = newestBackups(lists...)
	return out
}

// place is a storage as one node sees it.
type place struct{ node, storage string }

// storageIDs are the distinct storages of places.
func storageIDs(places []place) map[string]bool {
	out := map[string]bool{}
	for _, p := range places {
		out[p.storage] = true
	}
	return out
}

// staleAfter is the view's "last backup" threshold.
func (q listQuery) staleAfter() time.Duration {
	if d, ok := parseStale(q.StaleBackup); ok {
		return d
	}
	return defaultStaleBackup
}
