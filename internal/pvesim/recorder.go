package pvesim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The request recorder, for tests that check what reached the simulator.

// RecordedCall is one API call as the simulator received it.
type RecordedCall struct {
	Method string // "GET", "POST", ...
	Route  string // schema path, "/nodes/{node}/lxc"; "" when no method matched
	Path   string // the path as called, below /api2/json
	// Params holds the path variables and the query and body parameters
	// (after "_dc" is dropped), as pveproxy merges them. Values are the
	// strings PVE sees: JSON true/false become "1"/"0", arrays are joined
	// with ",", objects are JSON text; parameters sent without a value
	// (undefined for PVE) are left out.
	Params map[string]string
	Status int // HTTP status of the answer
}

// Record turns the request recorder on or off. Turning it on clears what
// was recorded before. Calls rejected before their parameters are read
// (authentication failures, transport errors) are not recorded.
func (s *Sim) Record(on bool) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if on {
		s.recorded = nil
	}
	s.recording.Store(on)
}

// Recorded returns the calls recorded since Record(true), in order.
func (s *Sim) Recorded() []RecordedCall {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return append([]RecordedCall(nil), s.recorded...)
}

// record stores c.
func (s *Sim) record(c *call, status int) {
	rc := RecordedCall{Method: c.method, Path: c.relURI, Params: map[string]string{}, Status: status}
	if c.route != nil {
		rc.Route = c.route.path
	}
	for k, v := range c.params {
		if str, ok := paramString(v); ok {
			rc.Params[k] = str
		}
	}
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.recording.Load() {
		s.recorded = append(s.recorded, rc)
	}
}

// paramString renders a parameter value as PVE would see it as a string.
func paramString(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case bool:
		if t {
			return "1", true
		}
		return "0", true
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := paramString(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	return string(b), true
}
