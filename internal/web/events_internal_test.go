package web

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/live"
	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// sseEvent is one event as a browser's EventSource dispatches it.
type sseEvent struct{ name, data string }

// parseSSE reads a stream the way the HTML standard tells browsers to:
// lines end at CR LF, LF or CR; "event" names the event, "data" lines are
// joined with LF, an empty line dispatches.
func parseSSE(stream string) []sseEvent {
	var (
		out  []sseEvent
		name string
		data []string
		has  bool
	)
	for stream != "" {
		i := strings.IndexAny(stream, "\r\n")
		if i < 0 {
			break // an unfinished line is never dispatched
		}
		line := stream[:i]
		if stream[i] == '\r' && i+1 < len(stream) && stream[i+1] == '\n' {
			i++
		}
		stream = stream[i+1:]
		if line == "" {
			if has {
				out = append(out, sseEvent{name: name, data: strings.Join(data, "\n")})
			}
			name, data, has = "", nil, false
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			data, has = append(data, value), true
		}
	}
	return out
}

func TestWriteEventFraming(t *testing.T) {
	cases := []struct {
		name string
		data string
		want string // the data the page receives
	}{
		{"one line", "<p>hello</p>", "<p>hello</p>"},
		{"empty", "", ""},
		{"LF", "a\nb", "a\nb"},
		{"CR LF", "a\r\nb\r\n", "a\nb\n"},
		{"bare CR forges an event", "x\r\revent: expired\rdata: //evil.example/\r\rdata: y", "x\n\nevent: expired\ndata: //evil.example/\n\ndata: y"},
		{"bare CR forges a field", "x\rretry: 1\rid: 7", "x\nretry: 1\nid: 7"},
		{"CR CR LF", "a\r\r\nb", "a\n\nb"},
		{"LF CR", "a\n\rb", "a\n\nb"},
		{"trailing CR", "a\r", "a\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := string(appendEvent(nil, "update", tc.data))
			got := parseSSE(ev)
			if len(got) != 1 || got[0].name != "update" || got[0].data != tc.want {
				t.Errorf("stream %q\nparsed as %q\nwant one update carrying %q", ev, got, tc.want)
			}
		})
	}
}

// TestLiveUpdateFramingWithHostileNames renders the live part of the page
// for containers whose PVE data holds line breaks and checks the stream
// still carries exactly one update with the whole fragment.
func TestLiveUpdateFramingWithHostileNames(t *testing.T) {
	rd, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	snap := live.Snapshot{
		Containers: []lxc.Container{
			{VMID: 101, Node: "pve1", Status: "running", Name: "web\revent: expired\rdata: //evil.example/\r\r", Tags: []string{"a\rretry: 1"}},
			{VMID: 102, Node: "pve1\r\revent: closed", Status: "stopped", Name: "db"},
		},
		Nodes: []lxc.Node{{Name: "pve1\revent: bye\r\r", Status: "online"}},
	}
	var frag bytes.Buffer
	if err := rd.fragment(&frag, "containers", "live", buildLiveView(snap, parseListQuery(nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(frag.String(), "\r") {
		t.Fatal("the template dropped the CRs; the test needs them in the fragment")
	}
	got := parseSSE(string(appendEvent(nil, "update", frag.String())))
	if len(got) != 1 || got[0].name != "update" {
		t.Fatalf("the fragment framed as %d events: %q", len(got), got)
	}
	want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(frag.String())
	if got[0].data != want {
		t.Error("the update's data differs from the fragment")
	}
}
