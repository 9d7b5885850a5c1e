package web

import "testing"

func TestPhraseTask(t *testing.T) {
	tests := []struct {
		typ         string
		running, ok bool
		exit, want  string
		known       bool
	}{
		{"vzsnapshot", true, false, "", "Taking a snapshot of CT 101…", true},
		{"vzsnapshot", false, true, "OK", "Took a snapshot of CT 101.", true},
		{"vzsnapshot", false, false, "snapshot name 'a1' already used", "Could not take a snapshot of CT 101: a snapshot named “a1” already exists.", true},
		{"vzsnapshot", false, false, "snapshot feature is not available", "Could not take a snapshot of CT 101: Snapshots are not available for this container's storage.", true},
		{"vzsnapshot", false, false, "you can't take a snapshot if it's a template", "Could not take a snapshot of CT 101: templates cannot have snapshots.", true},
		{"vzrollback", false, false, "snapshot 'x1' does not exist", "Could not roll back CT 101: snapshot “x1” does not exist (any more).", true},
		{"vzdelsnapshot", false, false, "something new", "Could not delete the snapshot of CT 101: something new", true},
		{"vzdump", true, false, "", "Backing up CT 101…", true},
		{"vzdump", false, false, "Permission check failed (/vms/101, VM.Backup)", "Could not back up CT 101: you don't have permission (needs VM.Backup on /vms/101).", true},
		{"vzrestore", false, false, "unable to restore CT 101 - CT is locked (backup)", "Could not restore the backup to CT 101: CT is locked (backup): another operation is running on it; try again when it has finished.", true},
		{"imgdel", false, false, "cannot remove protected volume 'backup/vzdump-lxc-101-2026_01_01-00_00_00.tar.zst' on 'local'", "Could not delete the backup of CT 101: the backup is protected. Remove its protection first.", true},
		{"vzstart", false, false, "x", "", false},
	}
	for _, tc := range tests {
		got, known := phraseTask(tc.typ, "CT 101", tc.running, tc.ok, tc.exit)
		if got != tc.want || known != tc.known {
			t.Errorf("%s %q: %q %v, want %q %v", tc.typ, tc.exit, got, known, tc.want, tc.known)
		}
	}
}

func TestTaskBack(t *testing.T) {
	for next, want := range map[string]string{
		"/containers/pve1/101#snapshots": "/containers/pve1/101#snapshots",
		"/containers/pve1/101":           "/containers/pve1/101",
		"//evil/containers/pve1/101":     "",
		"/containers/pve1/101#x y":       "",
		"javascript:alert(1)":            "",
		"":                               "",
	} {
		if got := taskBack(next); got != want {
			t.Errorf("taskBack(%q) = %q, want %q", next, got, want)
		}
	}
}
