package web

import (
	"fmt"
	"regexp"
)

// Words for the tasks of snapshots (and, later, backups) on the task
// page. PVE reports a failed task only as its exit status, a line of
// text; the well-known ones are put in words here, anything else is shown
// as PVE wrote it (escaped), like the power actions' reasons.

// taskWords is how the task page speaks of one task type.
type taskWords struct {
	running, done, verb string // "Taking a snapshot of", "Snapshot taken of", "take a snapshot of"
}

var taskTypeWords = map[string]taskWords{
	"vzsnapshot":    {"Taking a snapshot of", "Took a snapshot of", "take a snapshot of"},
	"vzdelsnapshot": {"Deleting a snapshot of", "Deleted a snapshot of", "delete the snapshot of"},
	"vzrollback":    {"Rolling back", "Rolled back", "roll back"},
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
}

// exitReason puts a failed task's exit status in words.
func exitReason(exit string) string {
	for _, r := range exitReasons {
		if m := r.re.FindStringSubmatch(exit); m != nil {
			return r.text(m)
		}
	}
	return exit
}

// describeTask is the task page's message for the task types above; ok
// is false for other types.
func describeTask(taskType, label string, running, succeeded bool, exit string) (string, bool) {
	w, ok := taskTypeWords[taskType]
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

// taskBack is where a task page links back to: ?next= when it is a path
// of this site's container pages, else "" (the container list).
func taskBack(next string) string {
	if !containerBackPath.MatchString(next) {
		return ""
	}
	return next
}

// containerBackPath is a container page path with an optional fragment; nothing
// that could leave the site.
var containerBackPath = regexp.MustCompile(`^/containers/[A-Za-z0-9-]+/[0-9]+(#[a-z-]+)?$`)
