package pvesim

import (
	"context"
	"strconv"
)

// Test controls for the containers' consoles.

// ConsoleSize returns the window size of the console session of
// container vmid on node (the size the last client set), and whether
// there is such a session.
func (s *Sim) ConsoleSize(node string, vmid int) (cols, rows int, ok bool) {
	return s.con.sessions.Size(node + "/" + strconv.Itoa(vmid))
}

// AwaitConsoleSize waits until the console session of container vmid on
// node has the window size cols x rows, or ctx ends.
func (s *Sim) AwaitConsoleSize(ctx context.Context, node string, vmid int, cols, rows int) error {
	return s.con.sessions.AwaitSize(ctx, node+"/"+strconv.Itoa(vmid), cols, rows)
}

// ConsoleSessions lists the console sessions alive now, as "node/vmid".
func (s *Sim) ConsoleSessions() []string { return s.con.sessions.Sessions() }

// EndConsole ends the console session of container vmid on node, as if
// its program had exited: every attached client sees dtach's end.
func (s *Sim) EndConsole(node string, vmid int) {
	s.con.sessions.End(node + "/" + strconv.Itoa(vmid))
}
