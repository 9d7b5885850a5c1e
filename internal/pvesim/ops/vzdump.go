package ops

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/state"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/tasks"
)

// Backups (pve-manager API2/VZDump.pm vzdump, PVE/VZDump.pm exec_backup;
// pve-container VZDump/LXC.pm). The checks before the worker are
// synchronous; VM.Backup is checked inside it, each guest is backed up in
// turn (its failure is logged and the job ends "job errors"), and one job
// per node runs at a time. The guest's backup itself is in
// vzdump_guest.go.

// VzdumpRequest is POST /nodes/{node}/vzdump with its parameters
// verified. Params holds every parameter given (for the job's command
// line and the root-only checks).
type VzdumpRequest struct {
	Params        map[string]string
	VMID          string // pve-vmid-list, "" when not given
	All           bool
	Pool          string
	Exclude       string
	Storage       string // "" when not given (then local)
	Mode          string // snapshot (default), suspend, stop
	Compress      string // "0" (default), "1", gzip, lzo, zstd
	NotesTemplate string
	Protected     bool
	Stdout, Stop  bool
	// ClusterName fills {{cluster}} in the notes ("" for a standalone node).
	ClusterName string
}

// storageParam is get_storage_param: the storage the job writes to.
func (r VzdumpRequest) storageParam() string {
	if _, ok := r.Params["dumpdir"]; ok {
		return ""
	}
	if r.Storage == "" {
		return "local"
	}
	return r.Storage
}

// Vzdump is POST /nodes/{node}/vzdump: the UPID of the vzdump task, or
// "OK" when none of the guests lives on this node.
func (o *Ops) Vzdump(c Caller, r VzdumpRequest) (string, error) {
	if r.Stdout {
		return "", state.ParamErr("stdout", "option is only allowed on the command line interface.")
	}
	if c.User != access.RootUser {
		for _, k := range []string{"tmpdir", "dumpdir", "script", "job-id"} {
			if _, ok := r.Params[k]; ok {
				return "", state.ParamErr(k, "Only root may set this option.")
			}
		}
		for _, k := range []string{"bwlimit", "ionice", "performance"} {
			if _, ok := r.Params[k]; ok {
				if err := o.ACL.Check(c.User, "/", "Sys.Modify"); err != nil {
					return "", err
				}
				break
			}
		}
		if _, ok := r.Params["prune-backups"]; ok && r.storageParam() != "" {
			if err := o.ACL.Check(c.User, "/storage/"+r.storageParam(), "Datastore.Allocate"); err != nil {
				return "", err
			}
		}
	}
	switch {
	case r.All && r.VMID != "":
		return "", state.ParamErr("all", "option conflicts with option 'vmid'")
	case r.Exclude != "" && r.VMID != "":
		return "", state.ParamErr("exclude", "option conflicts with option 'vmid'")
	case r.Pool != "" && r.VMID != "":
		return "", state.ParamErr("pool", "option conflicts with option 'vmid'")
	case strings.Contains(r.NotesTemplate, "\n"):
		return "", state.ParamErr("notes-template", "contains a line feed")
	}
	all := r.All || (r.Exclude != "" && r.Pool == "")
	if !all && !r.Stop && r.Pool == "" && r.VMID == "" {
		return "", state.ParamErr("vmid", "property is missing")
	}
	local, elsewhere := o.includedGuests(c.Node, r, all)
	if r.Stop {
		if err := o.ACL.Check(c.User, "/nodes/"+c.Node.Name, "Sys.Modify"); err != nil {
			return "", err
		}
		o.stopBackups(c.Node, o.Now())
		if len(local) == 0 {
			return "OK", nil
		}
	}
	if len(local) == 0 && !all {
		return "OK", nil // the guests live on other nodes
	}
	if sid := r.storageParam(); sid != "" {
		if err := o.ACL.Check(c.User, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return "", err
		}
	}
	id := ""
	if len(local) == 1 {
		id = local[0]
	}
	now := o.Now()
	t := o.Tasks.Start(c.Node, "vzdump", id, c.User, now)
	job := &dumpJob{o: o, t: t, req: r, guests: local, skip: elsewhere, all: all}
	o.queueDump(job, now)
	return t.UPID, nil
}

// includedGuests is get_included_guests: the vmids to back up on this
// node (unknown ids included, to fail visibly), and those on others.
func (o *Ops) includedGuests(n *state.Node, r VzdumpRequest, all bool) (local, elsewhere []string) {
	var ids []string
	switch {
	case r.Pool != "":
		for _, g := range o.Cluster.Order {
			if g.Pool == r.Pool {
				ids = append(ids, g.ID)
			}
		}
	case r.VMID != "":
		ids = perl.SplitList(r.VMID)
	case all:
		skip := map[string]bool{}
		for _, id := range perl.SplitList(r.Exclude) {
			skip[id] = true
		}
		for _, g := range o.Cluster.Order {
			if !skip[g.ID] {
				ids = append(ids, g.ID)
			}
		}
	}
	for _, id := range ids {
		vmid, _ := strconv.Atoi(id)
		g := o.Cluster.Guests[vmid]
		switch {
		case g == nil:
			local = append(local, id)
		case g.Node == n:
			local = append(local, id)
		default:
			elsewhere = append(elsewhere, id)
		}
	}
	sort.Slice(local, func(i, j int) bool { return atoiOr0(local[i]) < atoiOr0(local[j]) })
	return local, elsewhere
}

func atoiOr0(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// dumpJob is one vzdump task.
type dumpJob struct {
	o      *Ops
	t      *tasks.Task
	req    VzdumpRequest
	guests []string
	skip   []string
	all    bool
	errors int
}

// queueDump starts job now, or after the node's running job (vzdump's
// global lock, /var/run/vzdump.lock).
func (o *Ops) queueDump(job *dumpJob, now time.Time) {
	if o.dumpJobs == nil {
		o.dumpJobs = map[*state.Node][]*dumpJob{}
	}
	n := job.t.Node
	o.dumpJobs[n] = append(o.dumpJobs[n], job)
	if len(o.dumpJobs[n]) == 1 {
		o.Tasks.Schedule(job.t, now, job.begin)
		return
	}
	job.t.Log(now, "INFO: trying to get global lock - waiting...")
}

// dumpDone hands the node's lock to the next job.
func (o *Ops) dumpDone(job *dumpJob, at time.Time) {
	n := job.t.Node
	q := o.dumpJobs[n]
	for i, j := range q {
		if j == job {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	o.dumpJobs[n] = q
	if len(q) > 0 {
		next := q[0]
		next.t.Log(at, "INFO: got global lock")
		o.Tasks.Schedule(next.t, at, next.begin)
	}
}

// stopBackups is stop_running_backups: the node's running job is killed.
func (o *Ops) stopBackups(n *state.Node, at time.Time) {
	q := o.dumpJobs[n]
	if len(q) == 0 {
		return
	}
	job := q[0]
	job.finish(at, "interrupted by signal")
}

// finish ends the job's task and frees the node's lock.
func (j *dumpJob) finish(at time.Time, exit string) {
	j.o.Tasks.Finish(j.t, at, exit)
	j.o.dumpDone(j, at)
}

// begin is exec_backup once the job holds the node's lock.
func (j *dumpJob) begin(at time.Time) {
	o, t := j.o, j.t
	if sid := j.req.storageParam(); sid != "" {
		st, ok := o.storage(sid)
		switch {
		case !ok:
			j.finish(at.Add(o.Tasks.Dur(tasks.ErrorDelay)), "could not get storage information for '"+sid+"': storage '"+sid+"' does not exist")
			return
		case !storageHolds(st, "backup"):
			j.finish(at.Add(o.Tasks.Dur(tasks.ErrorDelay)), "could not get storage information for '"+sid+"': can't use storage '"+sid+"' for backups - wrong content type")
			return
		}
	}
	t.Log(at, "INFO: starting new backup job: "+j.commandLine())
	if len(j.skip) > 0 {
		t.Log(at, "INFO: skip external VMs: "+strings.Join(j.skip, ", "))
	}
	var todo []string
	for _, id := range j.guests {
		vmid, _ := strconv.Atoi(id)
		if o.Cluster.Guests[vmid] != nil && !o.ACL.Can(t.User, "/vms/"+id, "VM.Backup") {
			if j.all {
				continue // noerr with --all
			}
			j.finish(at.Add(o.Tasks.Dur(tasks.ErrorDelay)), "Permission check failed (/vms/"+id+", VM.Backup)")
			return
		}
		todo = append(todo, id)
	}
	j.next(todo, at)
}

// next backs up the first guest of todo, then the rest.
func (j *dumpJob) next(todo []string, at time.Time) {
	if len(todo) == 0 {
		end := at.Add(j.o.Tasks.Dur(50 * time.Millisecond))
		if j.errors > 0 {
			j.t.Log(end, "INFO: Backup job finished with errors")
			j.o.Tasks.Schedule(j.t, end, func(e time.Time) { j.finish(e, "job errors") })
			return
		}
		j.t.Log(end, "INFO: Backup job finished successfully")
		j.o.Tasks.Schedule(j.t, end, func(e time.Time) { j.finish(e, "OK") })
		return
	}
	j.backupGuest(todo[0], at, func(done time.Time, ok bool) {
		if !ok {
			j.errors++
		}
		j.next(todo[1:], done)
	})
}

// commandLine is the job's command line as the log shows it: vzdump, the
// vmids, then every other parameter (PVE: in hash order; here sorted).
func (j *dumpJob) commandLine() string {
	cmd := "vzdump"
	if j.req.VMID != "" {
		cmd += " " + strings.Join(perl.SplitList(j.req.VMID), " ")
	}
	keys := make([]string, 0, len(j.req.Params))
	for k := range j.req.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := j.req.Params[k]
		if k == "vmid" || k == "stdout" || k == "job-id" || v == "" {
			continue
		}
		cmd += " --" + k + " " + shellQuote(v)
	}
	return cmd
}

// shellQuote is PVE::Tools::shellquote.
func shellQuote(s string) string {
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@+=", r)) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// storage returns the storage.cfg entry sid.
func (o *Ops) storage(sid string) (state.Storage, bool) {
	for _, st := range o.Cluster.Storages {
		if st.ID == sid {
			return st, true
		}
	}
	return state.Storage{}, false
}

// storageHolds reports whether st takes content type ct.
func storageHolds(st state.Storage, ct string) bool {
	for _, c := range strings.Split(st.Content, ",") {
		if c == ct {
			return true
		}
	}
	return false
}

// dumpDir is the dump directory of a file storage.
func dumpDir(st state.Storage) string {
	switch {
	case st.ID == "local" && st.Type == "dir":
		return "/var/lib/vz/dump"
	case st.Type == "nfs" || st.Type == "cifs":
		return "/mnt/pve/" + st.ID + "/dump"
	}
	return "/srv/" + st.ID + "/dump"
}
