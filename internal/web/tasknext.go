package web

import (
	"fmt"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// The task page for provisioning tasks: their titles and messages, and
// "next", where a task that ended well leads (the new container's page,
// back to the form after a download, the list after a delete).

// taskNext is where a task page leads once its task ended well: the
// "next" parameter when it is a path on this site (safeNext), else "".
func taskNext(raw string) string {
	if raw == "" || safeNext(raw) != raw {
		return ""
	}
	return raw
}

// taskWords are a provisioning task's title and messages.
type taskWords struct {
	title, running, done, failed string
}

// describeTask words the tasks of creating, cloning, converting,
// deleting containers and downloading templates; ok is false for others.
func describeTask(t lxc.Task) (taskWords, bool) {
	ct := "CT " + t.ID
	switch t.Type {
	case "vzcreate":
		return taskWords{ct, "Creating " + ct + "…", ct + " created.", "create " + ct}, true
	case "vzclone":
		return taskWords{ct, "Cloning " + ct + "…", ct + " cloned.", "clone " + ct}, true
	case "vzdestroy":
		return taskWords{ct, "Deleting " + ct + "…", ct + " deleted.", "delete " + ct}, true
	case "vztemplate":
		return taskWords{ct, "Converting " + ct + " to a template…", ct + " is now a template.", "convert " + ct + " to a template"}, true
	case "download":
		return taskWords{"Template download", "Downloading " + t.ID + "…", t.ID + " downloaded.", "download " + t.ID}, true
	}
	return taskWords{}, false
}

// message is the page's message for t in its state.
func (w taskWords) message(t lxc.Task) string {
	switch {
	case t.Running:
		return w.running
	case t.Succeeded():
		return w.done
	}
	// PVE's exit status is the reason, shown escaped, as for power actions.
	return fmt.Sprintf("Could not %s: %s", w.failed, t.ExitStatus)
}
