package pvesim

import (
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// put is a form PUT as user (with the user's CSRF token).
func (ce *clusterEnv) put(user, path string, form url.Values) result {
	ce.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return ce.do(req{method: "PUT", path: path, form: form, ticket: ce.tickets[user][0], csrf: ce.tickets[user][1]})
}

// addUser creates a user with a role on path and logs them in.
func (ce *clusterEnv) addUser(id, role, path string) {
	ce.t.Helper()
	ce.sim.SetUser(User{ID: id, Password: id + "-pass"})
	if role != "" {
		mustDo(ce.t, ce.sim.SetACL(path, id, role, true))
	}
	tk, csrf := ce.login(id, id+"-pass")
	ce.tickets[id] = [2]string{tk, csrf}
}

// ctPath is /nodes/<node>/lxc/<vmid><rest>.
func ctPath(node string, vmid int, rest string) string {
	return "/nodes/" + node + "/lxc/" + strconv.Itoa(vmid) + rest
}

// config reads GET .../config as user.
func (ce *clusterEnv) config(user, node string, vmid int, query string) map[string]any {
	ce.t.Helper()
	return ce.get(user, ctPath(node, vmid, "/config"+query)).object(ce.t)
}

// wantParamErrors checks a 400 whose errors hold exactly want.
func (r result) wantParamErrors(t *testing.T, want map[string]string) {
	t.Helper()
	r.wantError(t, 400, "Parameter verification failed.")
	errs, _ := r.json(t)["errors"].(map[string]any)
	if len(errs) != len(want) {
		t.Errorf("errors %v, want %v", errs, want)
	}
	for k, v := range want {
		if errs[k] != v {
			t.Errorf("errors[%s] = %q, want %q", k, errs[k], v)
		}
	}
}

// waitTask advances the clock until the task ends and returns it.
func (ce *clusterEnv) waitTask(upid string) TaskInfo {
	ce.t.Helper()
	for i := 0; i < 600; i++ {
		if ti, ok := ce.sim.Task(upid); ok && ti.Status == "stopped" {
			return ti
		}
		ce.clock.Advance(100 * time.Millisecond)
	}
	ce.t.Fatalf("task %s never ended", upid)
	return TaskInfo{}
}

// regexpMatch reports whether s matches the anchored pattern.
func regexpMatch(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}
