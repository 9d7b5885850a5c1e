package web

import (
	"net/url"
	"slices"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

func TestParseListQuery(t *testing.T) {
	cases := []struct {
		in   string
		want listQuery
		url  string
	}{
		{"", listQuery{Sort: "vmid", Dir: "asc", Page: 1}, "/"},
		{"q=web&status=running&node=pve1&sort=name&dir=desc", listQuery{Q: "web", Status: "running", Node: "pve1", Sort: "name", Dir: "desc", Page: 1}, "/?dir=desc&node=pve1&q=web&sort=name&status=running"},
		{"status=paused&sort=bogus&dir=sideways", listQuery{Sort: "vmid", Dir: "asc", Page: 1}, "/"},
		{"page=3&sort=cpu", listQuery{Sort: "cpu", Dir: "asc", Page: 3}, "/?page=3&sort=cpu"},
		{"page=0", listQuery{Sort: "vmid", Dir: "asc", Page: 1}, "/"},
		{"page=abc", listQuery{Sort: "vmid", Dir: "asc", Page: 1}, "/"},
		{"q=%20%20db%20", listQuery{Q: "db", Sort: "vmid", Dir: "asc", Page: 1}, "/?q=db"},
	}
	for _, tc := range cases {
		v, _ := url.ParseQuery(tc.in)
		got := parseListQuery(v)
		if got != tc.want {
			t.Errorf("parseListQuery(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.URL() != tc.url {
			t.Errorf("URL() = %q, want %q", got.URL(), tc.url)
		}
	}
}

func TestListQueryApply(t *testing.T) {
	cts := []lxc.Container{
		{VMID: 101, Name: "web-01", Node: "pve1", Status: "running", Tags: []string{"prod", "web"}, CPU: 0.5, Mem: 300},
		{VMID: 102, Name: "db-main", Node: "pve2", Status: "running", Tags: []string{"prod", "db"}, CPU: 0.1, Mem: 900},
		{VMID: 103, Name: "Web-Staging", Node: "pve1", Status: "stopped", Tags: []string{"dev"}},
		{VMID: 250, Name: "ci", Node: "pve3", Status: "stopped"},
	}
	ids := func(cs []lxc.Container) []int {
		var out []int
		for _, c := range cs {
			out = append(out, c.VMID)
		}
		return out
	}
	cases := []struct {
		name  string
		query string
		want  []int
	}{
		{"all by vmid", "", []int{101, 102, 103, 250}},
		{"search name, case-insensitive", "q=WEB", []int{101, 103}},
		{"search vmid", "q=25", []int{250}},
		{"search tag", "q=db", []int{102}},
		{"status", "status=stopped", []int{103, 250}},
		{"node", "node=pve1", []int{101, 103}},
		{"combined", "q=web&status=running&node=pve1", []int{101}},
		{"sort name", "sort=name", []int{250, 102, 101, 103}},
		{"sort cpu desc", "sort=cpu&dir=desc", []int{101, 102, 103, 250}},
		{"sort mem asc, ties by vmid", "sort=mem", []int{103, 250, 101, 102}},
		{"no match", "q=nothing", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			if got := ids(parseListQuery(v).apply(cts)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSortURLToggles(t *testing.T) {
	q := parseListQuery(url.Values{"sort": {"name"}})
	if got := q.SortURL("name"); got != "/?dir=desc&sort=name" {
		t.Errorf("SortURL(name) = %q", got)
	}
	if got := q.SortURL("cpu"); got != "/?sort=cpu" {
		t.Errorf("SortURL(cpu) = %q", got)
	}
	if q.SortMark("name") != "▲" || q.SortMark("cpu") != "" {
		t.Error("sort marks")
	}
}

func TestOfferedActions(t *testing.T) {
	cases := []struct {
		c    lxc.Container
		want []lxc.Action
	}{
		{lxc.Container{Status: "running"}, []lxc.Action{lxc.ActionShutdown, lxc.ActionReboot, lxc.ActionStop}},
		{lxc.Container{Status: "stopped"}, []lxc.Action{lxc.ActionStart}},
		{lxc.Container{Status: "stopped", Template: true}, nil},
		{lxc.Container{Status: "unknown"}, nil},
	}
	for _, tc := range cases {
		if got := offeredActions(tc.c); !slices.Equal(got, tc.want) {
			t.Errorf("offeredActions(%+v) = %v, want %v", tc.c, got, tc.want)
		}
	}
}

func TestPagination(t *testing.T) {
	var cts []lxc.Container
	for i := range 450 {
		cts = append(cts, lxc.Container{VMID: 100 + i, Status: "running"})
	}
	perms := lxc.Permissions{"/": {"VM.PowerMgmt": true}}
	cases := []struct {
		page              int
		first, last       int
		prev, next, nrows int
	}{
		{1, 1, 200, 0, 2, 200},
		{2, 201, 400, 1, 3, 200},
		{3, 401, 450, 2, 0, 50},
		{9, 401, 450, 2, 0, 50}, // past the end: the last page
	}
	for _, tc := range cases {
		v := buildLiveView(live.Snapshot{Containers: cts, Perms: perms}, listQuery{Sort: "vmid", Dir: "asc", Page: tc.page})
		if v.First != tc.first || v.Last != tc.last || v.PrevPage != tc.prev || v.NextPage != tc.next || len(v.Rows) != tc.nrows {
			t.Errorf("page %d: first %d last %d prev %d next %d rows %d", tc.page, v.First, v.Last, v.PrevPage, v.NextPage, len(v.Rows))
		}
		if v.Total != 450 || v.Running != 450 || v.Shown != 450 {
			t.Errorf("page %d: counts %d/%d/%d", tc.page, v.Total, v.Running, v.Shown)
		}
	}
	if v := buildLiveView(live.Snapshot{}, listQuery{Sort: "vmid", Dir: "asc", Page: 1}); v.First != 0 || len(v.Rows) != 0 {
		t.Errorf("empty: %+v", v)
	}
}
