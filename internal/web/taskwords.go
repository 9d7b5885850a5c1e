package web

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// Words for the tasks of snapshots (and, later, backups) on the task
// page. PVE reports a failed task only as its exit status, a line of
// text; the well-known ones are put in words here, anything else is shown
// as PVE wrote it (escaped), like the power actions' reasons.

// taskPhrase is how the task page speaks of one task type.
type taskPhrase struct {
	running, done, verb string // "Taking a snapshot of", "Snapshot taken of", "take a snapshot of"
}

var taskPhrases = map[string]taskPhrase{
	"vzsnapshot":    {"Taking a snapshot of", "Took a snapshot of", "take a snapshot of"},
	"vzdelsnapshot": {"Deleting a snapshot of", "Deleted a snapshot of", "delete the snapshot of"},
	"vzrollback":    {"Rolling back", "Rolled back", "roll back"},
	"vzdump":        {"Backing up", "Backed up", "back up"},
	"vzrestore":     {"Restoring a backup to", "Restored a backup to", "restore the backup to"},
	"imgdel":        {"Deleting a backup of", "Deleted a backup of", "delete the backup of"},
}

// exitReasons are PVE's exit statuses worth saying in other words.
var exitReasons = []struct {
	re   *regexp.Regexp
	text func(m []string) string
}{
	{regexp.MustCompile(`^snapshot feature is not available$`), func([]string) string {
		return "Snapshots are not available for this container's storage."
	}},
	{regexp.MustCompile(`^snapshot name '(.+)' already used$`), func(m []string) string {
		return fmt.Sprintf("a snapshot named “%s” already exists.", m[1])
	}},
	{regexp.MustCompile(`^snapshot '(.+)' does not exist$`), func(m []string) string {
		return fmt.Sprintf("snapshot “%s” does not exist (any more).", m[1])
	}},
	{regexp.MustCompile(`^CT is locked \((.+)\)$`), func(m []string) string {
		return fmt.Sprintf("CT is locked (%s): another operation is running on it; try again when it has finished.", m[1])
	}},
	{regexp.MustCompile(`^you can't (take a snapshot|rollback|delete a snapshot) if (it's a template|vm is a template)$`), func([]string) string {
		return "templates cannot have snapshots."
	}},
	{regexp.MustCompile(`^cannot remove protected volume '.+' on '.+'$`), func([]string) string {
		return "the backup is protected. Remove its protection first."
	}},
	{regexp.MustCompile(`^Permission check failed \((/[^,]*), ([A-Za-z.]+)\)$`), func(m []string) string {
		return fmt.Sprintf("you don't have permission (needs %s on %s).", m[2], m[1])
	}},
	{regexp.MustCompile(`^could not get storage information for '(.+)': can't use storage '.+' for backups - wrong content type$`),
		func(m []string) string { return fmt.Sprintf("storage %s does not hold backups.", m[1]) }},
}

// restorePrefixRe is the prefix of a failed restore's exit status.
var restorePrefixRe = regexp.MustCompile(`^unable to restore CT \d+ - (.+)$`)

// backupFailedRe is vzdump's log line for a guest whose backup failed.
var backupFailedRe = regexp.MustCompile(`^ERROR: Backup of VM \d+ failed - (.+)$`)

// exitReason puts a failed task's exit status in words.
func exitReason(exit string) string {
	if m := restorePrefixRe.FindStringSubmatch(exit); m != nil {
		exit = m[1]
	}
	for _, r := range exitReasons {
		if m := r.re.FindStringSubmatch(exit); m != nil {
			return r.text(m)
		}
	}
	return exit
}

// phraseTask is the task page's message for the task types above; ok
// is false for other types.
func phraseTask(taskType, label string, running, succeeded bool, exit string) (string, bool) {
	w, ok := taskPhrases[taskType]
	switch {
	case !ok:
		return "", false
	case running:
		return w.running + " " + label + "…", true
	case succeeded:
		return w.done + " " + label + ".", true
	}
	return fmt.Sprintf("Could not %s %s: %s", w.verb, label, exitReason(exit)), true
}

// taskBack is where a task page links back to: ?back= when it is a path
// of this site's container pages, else "" (the container list).
func taskBack(back string) string {
	if !containerBackPath.MatchString(back) {
		return ""
	}
	return back
}

// containerBackPath is a container page path with an optional fragment; nothing
// that could leave the site.
var containerBackPath = regexp.MustCompile(`^/containers/[A-Za-z0-9-]+/[0-9]+(#[a-z-]+)?$`)

// describeTaskPage sets the task page's message (and the container it is
// about) for the task types above: a backup job that ended "job errors"
// is explained by its log's ERROR line; a backup deletion's id is
// "<vmid>@<storage>".
func (s *Server) describeTaskPage(ctx context.Context, id lxc.Identity, t lxc.Task, p *taskPage) {
	if vmid, _, ok := strings.Cut(t.ID, "@"); ok && t.Type == "imgdel" {
		p.VMID, _ = strconv.Atoi(vmid)
	}
	exit := t.ExitStatus
	if t.Type == "vzdump" && exit == "job errors" {
		if lines, err := s.cfg.PVE.TaskLog(ctx, id, t.Node, t.UPID, 0, taskLogMax); err == nil {
			for _, l := range lines {
				if m := backupFailedRe.FindStringSubmatch(l); m != nil {
					exit = m[1]
				}
			}
		}
	}
	if msg, ok := phraseTask(t.Type, containerLabel(p.VMID), t.Running, p.OK, exit); ok {
		p.Message = msg
	}
	if t.Type == "vzrestore" && p.OK {
		p.Open = containerPath(target{Node: t.Node, VMID: p.VMID})
	}
}

// BackVMID is the container the back link leads to (the task's, or the
// one named by the link).
func (p taskPage) BackVMID() string {
	parts := strings.Split(strings.SplitN(p.Back, "#", 2)[0], "/")
	return parts[len(parts)-1]
}
