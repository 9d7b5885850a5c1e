package web

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// sortFunc returns the order of a sortable column by its URL name, or nil.
func sortFunc(col string) func(a, b lxc.Container) int {
	switch col {
	case "vmid":
		return func(a, b lxc.Container) int { return cmp.Compare(a.VMID, b.VMID) }
	case "name":
		return func(a, b lxc.Container) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) }
	case "node":
		return func(a, b lxc.Container) int { return cmp.Compare(a.Node, b.Node) }
	case "status":
		return func(a, b lxc.Container) int { return cmp.Compare(a.Status, b.Status) }
	case "cpu":
		return func(a, b lxc.Container) int { return cmp.Compare(a.CPU, b.CPU) }
	case "mem":
		return func(a, b lxc.Container) int { return cmp.Compare(a.Mem, b.Mem) }
	case "disk":
		return func(a, b lxc.Container) int { return cmp.Compare(a.Disk, b.Disk) }
	case "uptime":
		return func(a, b lxc.Container) int { return cmp.Compare(a.Uptime, b.Uptime) }
	case "tags":
		return func(a, b lxc.Container) int {
			return cmp.Compare(strings.Join(a.Tags, ";"), strings.Join(b.Tags, ";"))
		}
	}
	return nil
}

// pageSize is how many containers one page of the list shows. Large
// clusters are browsed by search, filters and pages, never one huge table.
const pageSize = 200

// listQuery is the view of the container list that lives in the URL:
// /?q=TEXT&status=running|stopped&node=NAME&sort=COLUMN&dir=asc|desc&page=N.
type listQuery struct {
	Q      string
	Status string
	Node   string
	Sort   string
	Dir    string
	Page   int // 1-based
	// StaleBackup is the "last backup" threshold as given ("7d"), "" for
	// the default (lastbackup.go).
	StaleBackup string
}

// parseListQuery reads the view from the URL; unknown values fall back to
// the defaults (no filter, sorted by VMID ascending) rather than failing.
func parseListQuery(v url.Values) listQuery {
	q := listQuery{
		Q:      strings.TrimSpace(v.Get("q")),
		Status: v.Get("status"),
		Node:   strings.TrimSpace(v.Get("node")),
		Sort:   v.Get("sort"),
		Dir:    v.Get("dir"),
	}
	if p, err := strconv.Atoi(v.Get("page")); err == nil && p > 1 && p <= 1_000_000 {
		q.Page = p
	} else {
		q.Page = 1
	}
	if len(q.Q) > 200 {
		q.Q = q.Q[:200]
	}
	if q.Status != "running" && q.Status != "stopped" {
		q.Status = ""
	}
	if sortFunc(q.Sort) == nil {
		q.Sort = "vmid"
	}
	if q.Dir != "desc" {
		q.Dir = "asc"
	}
	if _, ok := parseStale(v.Get("stale_backup")); ok {
		q.StaleBackup = v.Get("stale_backup")
	}
	return q
}

// Values encodes the view, leaving out defaults.
func (q listQuery) Values() url.Values {
	v := url.Values{}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if q.Node != "" {
		v.Set("node", q.Node)
	}
	if q.Sort != "vmid" {
		v.Set("sort", q.Sort)
	}
	if q.Dir != "asc" {
		v.Set("dir", q.Dir)
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.StaleBackup != "" {
		v.Set("stale_backup", q.StaleBackup)
	}
	return v
}

// PageURL is the URL of page p of this view.
func (q listQuery) PageURL(p int) string {
	n := q
	n.Page = p
	return n.URL()
}

// URL is the list page for this view.
func (q listQuery) URL() string {
	if e := q.Values().Encode(); e != "" {
		return "/?" + e
	}
	return "/"
}

// EventsURL is the live-update stream for this view.
func (q listQuery) EventsURL() string {
	if e := q.Values().Encode(); e != "" {
		return "/events?" + e
	}
	return "/events"
}

// SortURL is the URL that sorts by col: ascending, or the other way round
// when the list is already sorted by col.
func (q listQuery) SortURL(col string) string {
	n := q
	if q.Sort == col && q.Dir == "asc" {
		n.Dir = "desc"
	} else {
		n.Dir = "asc"
	}
	n.Sort = col
	n.Page = 1
	return n.URL()
}

// SortMark is the arrow shown next to the sorted column's header.
func (q listQuery) SortMark(col string) string {
	if q.Sort != col {
		return ""
	}
	if q.Dir == "desc" {
		return "▼"
	}
	return "▲"
}

// Filtered reports whether any filter or search is active.
func (q listQuery) Filtered() bool { return q.Q != "" || q.Status != "" || q.Node != "" }

// matches reports whether c passes the search and filters. The search
// matches the name, the VMID or a tag, case-insensitively.
//
// A template never runs (PVE reports it as stopped): the status filters
// leave templates out, as the running and stopped counts do
// (buildLiveView), so the rows of ?status=stopped are the stopped count.
// Templates are listed when no status filter is set, and counted apart.
func (q listQuery) matches(c lxc.Container) bool {
	if q.Status != "" && (c.Template || c.Status != q.Status) {
		return false
	}
	if q.Node != "" && c.Node != q.Node {
		return false
	}
	if q.Q == "" {
		return true
	}
	needle := strings.ToLower(q.Q)
	if strings.Contains(strings.ToLower(c.Name), needle) || strings.Contains(strconv.Itoa(c.VMID), needle) {
		return true
	}
	for _, t := range c.Tags {
		if strings.Contains(strings.ToLower(t), needle) {
			return true
		}
	}
	return false
}

// apply returns the containers of the view, filtered and sorted; ties are
// broken by VMID so the order is stable between refreshes.
func (q listQuery) apply(all []lxc.Container) []lxc.Container {
	out := make([]lxc.Container, 0, len(all))
	for _, c := range all {
		if q.matches(c) {
			out = append(out, c)
		}
	}
	by := sortFunc(q.Sort)
	slices.SortStableFunc(out, func(a, b lxc.Container) int {
		r := by(a, b)
		if q.Dir == "desc" {
			r = -r
		}
		if r == 0 {
			r = cmp.Compare(a.VMID, b.VMID)
		}
		return r
	})
	return out
}
