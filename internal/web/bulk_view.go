package web

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/jobs"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// bulkView is a bulk action's progress as the page and the list's script
// show it.
type bulkView struct {
	ID      string         `json:"id"`
	Action  string         `json:"action"`
	Title   string         `json:"title"` // "Stop 5 containers"
	Done    bool           `json:"done"`
	Summary string         `json:"summary"` // "8 stopped, 1 failed: CT 110 is locked (backup)."
	Running int            `json:"running"`
	Queued  int            `json:"queued"`
	Items   []bulkItemView `json:"items"`
}

// bulkItemView is one container's line.
type bulkItemView struct {
	Node    string `json:"node"`
	VMID    int    `json:"vmid"`
	Label   string `json:"label"` // "CT 101 web-01"
	State   string `json:"state"` // queued, running, ok, failed, skipped
	Text    string `json:"text"`  // the state in words
	TaskURL string `json:"taskUrl,omitempty"`
}

// itemLabel names a container in lists: "CT 101 web-01".
func itemLabel(it jobs.Item) string {
	if it.Name != "" {
		return containerLabel(it.VMID) + " " + it.Name
	}
	return containerLabel(it.VMID)
}

func newBulkView(job jobs.Job) bulkView {
	action := lxc.Action(job.Action)
	v := bulkView{ID: job.ID, Action: job.Action, Done: job.Done,
		Title: fmt.Sprintf("%s %d %s", action.Label(), len(job.Items), plural(len(job.Items), "container", "containers"))}
	var ok, skipped int
	var failed []string
	for _, it := range job.Items {
		iv := bulkItemView{Node: it.Node, VMID: it.VMID, Label: itemLabel(it), State: it.State}
		if it.UPID != "" {
			iv.TaskURL = "/tasks/" + url.PathEscape(it.Node) + "/" + url.PathEscape(it.UPID)
		}
		switch it.State {
		case jobs.StateQueued:
			v.Queued++
			iv.Text = "waiting"
		case jobs.StateRunning:
			v.Running++
			iv.Text = strings.ToLower(taskVerbing(action)) + "…"
		case jobs.StateOK:
			ok++
			iv.Text = pastTense(action)
		case jobs.StateSkipped:
			skipped++
			iv.Text = it.Message
		default:
			failed = append(failed, it.Message)
			iv.Text = it.Message
		}
		v.Items = append(v.Items, iv)
	}
	parts := []string{fmt.Sprintf("%d %s", ok, pastTense(action))}
	if v.Running > 0 {
		parts = append(parts, fmt.Sprintf("%d running", v.Running))
	}
	if v.Queued > 0 {
		parts = append(parts, fmt.Sprintf("%d waiting", v.Queued))
	}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d left as they were", skipped))
	}
	summary := strings.Join(parts, ", ")
	if len(failed) > 0 {
		shown := trimStops(failed)
		if len(shown) > 3 {
			shown = append(shown[:3], fmt.Sprintf("and %d more", len(failed)-3))
		}
		summary += fmt.Sprintf(", %d failed: %s", len(failed), strings.Join(shown, "; "))
	}
	v.Summary = summary + "."
	return v
}

// trimStops drops the full stop of each message, for joining them.
func trimStops(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = strings.TrimSuffix(m, ".")
	}
	return out
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
