package pvesim

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

// GET /nodes/{node}/tasks.

// taskList reads the list as user and returns the UPIDs and the total.
func (ce *clusterEnv) taskList(user, node, query string) ([]map[string]any, int) {
	ce.t.Helper()
	res := ce.get(user, "/nodes/"+node+"/tasks"+query)
	total, ok := res.json(ce.t)["total"].(float64)
	if !ok {
		ce.t.Fatalf("no total in %s", res.body)
	}
	return res.list(ce.t), int(total)
}

func upids(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e["upid"].(string)
	}
	return out
}

func TestTaskList(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.01})
	// On pve3: alice starts 107 (OK), root stops 106 (OK), root fails
	// to stop locked 105, alice shuts 107 down (still running: it
	// ignores the request).
	mustDo(t, e.sim.SetLock(105, "backup"))
	mustDo(t, e.sim.SetIgnoreShutdown(107, true))
	aliceStart := e.action("alice@pve", "pve3", 107, "start", nil)
	e.waitTask(aliceStart)
	e.clock.Advance(time.Minute)
	rootStop := e.action("root@pam", "pve3", 106, "stop", nil)
	e.waitTask(rootStop)
	e.clock.Advance(time.Minute)
	rootFail := e.action("root@pam", "pve3", 105, "stop", nil)
	e.waitTask(rootFail)
	e.clock.Advance(time.Minute)
	since := e.clock.Now().Unix()
	running := e.action("alice@pve", "pve3", 107, "shutdown", url.Values{"timeout": {"600"}})
	// a task on another node is not listed
	e.waitTask(e.action("root@pam", "pve1", 101, "reboot", nil))

	tests := []struct {
		name, user, query string
		want              []string
		total             int
	}{
		{"root sees all finished, newest first", "root@pam", "", []string{rootFail, rootStop, aliceStart}, 3},
		{"alice sees her own", "alice@pve", "", []string{aliceStart}, 1},
		{"the auditor has Sys.Audit", "auditor@pve", "", []string{rootFail, rootStop, aliceStart}, 3},
		{"active", "root@pam", "?source=active", []string{running}, 1},
		{"all: running first", "root@pam", "?source=all", []string{running, rootFail, rootStop, aliceStart}, 4},
		{"by vmid", "root@pam", "?vmid=107&source=all", []string{running, aliceStart}, 2},
		{"by type", "root@pam", "?typefilter=vzstop", []string{rootFail, rootStop}, 2},
		{"by user, a substring", "root@pam", "?userfilter=ALICE", []string{aliceStart}, 1},
		{"errors only", "root@pam", "?errors=1", []string{rootFail}, 1},
		{"status filter", "root@pam", "?statusfilter=ok", []string{rootStop, aliceStart}, 2},
		{"since", "root@pam", "?source=all&since=" + strconv.FormatInt(since, 10), []string{running}, 1},
		{"until", "root@pam", "?until=" + strconv.FormatInt(since-120, 10), []string{rootStop, aliceStart}, 2},
		{"start and limit; total counts all", "root@pam", "?start=1&limit=1", []string{rootStop}, 3},
		{"limit 0", "root@pam", "?limit=0", []string{}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, total := e.taskList(tc.user, "pve3", tc.query)
			got := upids(list)
			if len(got) != len(tc.want) || total != tc.total {
				t.Fatalf("got %v (total %d), want %v (total %d)", got, total, tc.want, tc.total)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("item %d: %s, want %s", i, got[i], tc.want[i])
				}
			}
		})
	}

	list, _ := e.taskList("root@pam", "pve3", "?source=all")
	active, done := list[0], list[2]
	if active["status"] != "RUNNING" || active["saved"] != "0" || active["endtime"] != nil {
		t.Errorf("active entry %v", active)
	}
	ti, _ := e.sim.Task(rootStop)
	if done["status"] != "OK" || done["type"] != "vzstop" || done["id"] != "106" || done["user"] != "root@pam" ||
		done["node"] != "pve3" || done["endtime"] != float64(ti.End.Unix()) || done["starttime"] != float64(ti.Start.Unix()) {
		t.Errorf("finished entry %v, task %+v", done, ti)
	}
	if _, ok := done["saved"]; ok {
		t.Errorf("archived entry has saved: %v", done)
	}
	if failed := list[1]; failed["status"] != "CT is locked (backup)" {
		t.Errorf("failed entry %v", failed)
	}
	e.get("root@pam", "/nodes/pve3/tasks?statusfilter=fine").wantParamErrors(t, map[string]string{
		"statusfilter": "invalid format - invalid status 'fine'\n"})
	e.get("root@pam", "/nodes/pve3/tasks?source=old").wantParamErrors(t, map[string]string{
		"source": "value 'old' does not have a value in the enumeration 'archive, active, all'"})
}

func TestTaskPruning(t *testing.T) {
	t.Parallel()
	e := startCluster(t, Options{TaskDurationScale: 0.001})
	e.sim.mu.Lock()
	e.sim.tasks.SetKeep(3)
	e.sim.mu.Unlock()
	var all []string
	for i := 0; i < 5; i++ {
		all = append(all, e.action("root@pam", "pve1", 108, "start", nil))
		e.waitTask(all[len(all)-1])
		all = append(all, e.action("root@pam", "pve1", 108, "stop", nil))
		e.waitTask(all[len(all)-1])
	}
	list, total := e.taskList("root@pam", "pve1", "")
	if total > 6 || total < 3 || upids(list)[0] != all[len(all)-1] {
		t.Errorf("after pruning: %d tasks listed, newest %v", total, upids(list))
	}
	if _, ok := e.sim.Task(all[0]); ok {
		t.Error("the oldest task was kept")
	}
}
