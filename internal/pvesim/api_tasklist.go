package pvesim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// GET /nodes/{node}/tasks (pve-manager API2/Tasks.pm node_tasks).

func (s *Sim) taskListRoutes(rr *router) {
	rr.add(&route{
		name: "node_tasks", method: http.MethodGet, path: "/nodes/{node}/tasks",
		allowToken: true, proxyTo: "node",
		params: schema{
			"node":         nodeParam,
			"start":        {Type: "integer", Optional: true, Minimum: fptr(0)},
			"limit":        {Type: "integer", Optional: true, Minimum: fptr(0)},
			"userfilter":   {Type: "string", Optional: true},
			"typefilter":   {Type: "string", Optional: true},
			"vmid":         {Type: "integer", Optional: true, Format: "pve-vmid", Minimum: fptr(100), Maximum: fptr(999999999)},
			"errors":       {Type: "boolean", Optional: true},
			"source":       {Type: "string", Optional: true, Enum: []string{"archive", "active", "all"}},
			"since":        {Type: "integer", Optional: true},
			"until":        {Type: "integer", Optional: true},
			"statusfilter": {Type: "string", Optional: true, Format: "pve-task-status-type-list"},
		},
		fn: s.listTasks,
	})
}

// listTasks is GET /nodes/{node}/tasks: the node's finished tasks,
// newest first (source=archive, the default), its running ones (active)
// or both (all, running first); a user sees their own tasks, Sys.Audit on
// the node shows everybody's. "total" counts every matching task.
func (s *Sim) listTasks(c *call) (any, error) {
	node, _ := c.params.str("node")
	f := tasks.ListFilter{
		Node:   c.node,
		Caller: c.user,
		SeeAll: s.acl.Can(c.user, "/nodes/"+node, "Sys.Audit"),
		Source: "archive",
		Start:  c.intParam("start", 0),
		Limit:  c.intParam("limit", 50),
		Status: map[string]bool{"ok": true, "warning": true, "error": true, "unknown": true},
	}
	if v, ok := c.params.str("source"); ok {
		f.Source = v
	}
	f.UserFilter, _ = c.params.str("userfilter")
	f.TypeFilter, _ = c.params.str("typefilter")
	if v, ok := c.params.str("vmid"); perlTrue(v, ok) {
		f.VMID = v
	}
	for name, dst := range map[string]**int64{"since": &f.Since, "until": &f.Until} {
		if v, ok := c.params.str(name); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			*dst = &n
		}
	}
	errorsOnly := c.flag("errors")
	if sf, ok := c.params.str("statusfilter"); ok && !errorsOnly {
		f.Status = map[string]bool{}
		for _, v := range perl.SplitList(sf) {
			f.Status[strings.ToLower(v)] = true
		}
	} else if errorsOnly {
		f.Status["ok"] = false
	}
	list, total := s.tasks.List(f)
	out := make([]map[string]any, 0, len(list))
	for _, t := range list {
		d, _ := tasks.DecodeUPID(t.UPID)
		e := map[string]any{
			"upid": t.UPID, "node": d.Node, "pid": d.PID, "pstart": d.PStart, "starttime": d.StartTime,
			"type": d.Type, "id": d.ID, "user": d.User, "status": t.Status,
		}
		if t.Active {
			e["saved"] = "0" // read_active_workers keeps the flag
		} else {
			e["endtime"] = t.EndTime()
		}
		out = append(out, e)
	}
	return withTotal{data: out, total: total}, nil
}
