package lxc

import (
	"fmt"
	"regexp"
	"time"
)

// Snapshot is one entry of a container's snapshot list (GET
// .../snapshot), or the entry standing for the current state.
type Snapshot struct {
	Name        string
	Time        time.Time // when it was taken; zero for the current state
	Description string    // the person's comment, trailing newline removed
	Parent      string    // the snapshot it descends from; "" for a root
	// State is "prepare" while the snapshot is being taken and "delete"
	// while it is being removed; "" for a finished one.
	State string
	// Current marks the entry for the container as it is now ("You are
	// here"); Running is set when it runs.
	Current bool
	Running bool
}

// Snapshot names: PVE's pve-configid format, at most 40 characters, and
// two names PVE reserves.
const MaxSnapshotName = 40

var snapshotNameRe = regexp.MustCompile(`^(?i)[a-z][a-z0-9_-]+$`)

// SnapshotNameRule says in words what CheckSnapshotName accepts.
const SnapshotNameRule = "2 to 40 characters: letters, digits, - and _, starting with a letter; not “current” or “vzdump”."

// CheckSnapshotName checks a snapshot name as PVE does before a snapshot
// is taken: the pve-configid format, its length and the reserved names
// "current" and "vzdump" (^[a-z][a-z0-9_-]+$, case-insensitive like
// PVE's). The error (EInvalid) says what is wrong.
func CheckSnapshotName(name string) error {
	switch {
	case name == "":
		return Errorf(EInvalid, "Enter a name for the snapshot.")
	case len(name) > MaxSnapshotName:
		return Errorf(EInvalid, fmt.Sprintf("The name is %d characters long; at most %d are allowed.", len(name), MaxSnapshotName))
	case name == "current" || name == "vzdump":
		return Errorf(EInvalid, fmt.Sprintf("“%s” is reserved by Proxmox VE; choose another name.", name))
	case !snapshotNameRe.MatchString(name):
		return Errorf(EInvalid, "Use letters, digits, - and _ only, starting with a letter, at least 2 characters.")
	}
	return nil
}
