package web

import (
	"encoding/base64"
	"encoding/binary"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/jobs"
)

// keyBlob builds an OpenSSH public key blob: the type, then key material.
func keyBlob(typ string, material int) string {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(typ)))
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint32(b, uint32(material))
	b = append(b, make([]byte, material)...)
	return base64.StdEncoding.EncodeToString(b)
}

func TestValidSSHKeys(t *testing.T) {
	ed := "ssh-ed25519 " + keyBlob("ssh-ed25519", 32) + " alice@laptop"
	tests := []struct {
		name, keys string
		line       int
		ok         bool
	}{
		{"one key", ed, 0, true},
		{"keys, blank lines, options", ed + "\n\n" + `from="10.0.0.0/8" ssh-rsa ` + keyBlob("ssh-rsa", 64), 0, true},
		{"no comment", "ecdsa-sha2-nistp256 " + keyBlob("ecdsa-sha2-nistp256", 65), 0, true},
		{"type and blob disagree", "ssh-rsa " + keyBlob("ssh-ed25519", 32), 1, false},
		{"not base64", "ssh-ed25519 not*base64", 1, false},
		{"a type alone", ed + "\nssh-ed25519", 2, false},
		{"unknown type", "ssh-foo " + keyBlob("ssh-foo", 32), 1, false},
		{"a blob without key material", "ssh-ed25519 " + keyBlob("ssh-ed25519", 0)[:20], 1, false},
		{"a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line, ok := validSSHKeys(tc.keys)
			if ok != tc.ok || line != tc.line {
				t.Errorf("got line %d ok %v, want line %d ok %v", line, ok, tc.line, tc.ok)
			}
		})
	}
}

func TestTaskNext(t *testing.T) {
	for in, want := range map[string]string{
		"/containers/pve1/105":        "/containers/pve1/105",
		"/containers/new?node=pve1&x": "/containers/new?node=pve1&x",
		"":                            "",
		"//evil.example/x":            "",
		"/\\evil.example":             "",
		"https://evil.example/":       "",
		"javascript:alert(1)":         "",
		"/a\x01b":                     "",
		"/login":                      "",
		"containers/pve1/105":         "",
	} {
		if got := taskNext(in); got != want {
			t.Errorf("taskNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBulkSummary(t *testing.T) {
	item := func(vmid int, state, msg string) jobs.Item {
		return jobs.Item{Node: "pve1", VMID: vmid, State: state, Message: msg}
	}
	tests := []struct {
		name   string
		action string
		items  []jobs.Item
		want   string
	}{
		{"all done", "start", []jobs.Item{item(101, jobs.StateOK, ""), item(102, jobs.StateOK, "")}, "2 started."},
		{"a failure", "stop", []jobs.Item{item(101, jobs.StateOK, ""), item(110, jobs.StateFailed, "CT 110 is locked (backup).")},
			"1 stopped, 1 failed: CT 110 is locked (backup)."},
		{"under way", "shutdown", []jobs.Item{item(101, jobs.StateRunning, ""), item(102, jobs.StateQueued, ""),
			item(103, jobs.StateSkipped, "CT 103 is not running.")}, "0 shut down, 1 running, 1 waiting, 1 left as they were."},
		{"many failures", "reboot", []jobs.Item{item(1, jobs.StateFailed, "a."), item(2, jobs.StateFailed, "b."),
			item(3, jobs.StateFailed, "c."), item(4, jobs.StateFailed, "d."), item(5, jobs.StateFailed, "e.")},
			"0 rebooted, 5 failed: a; b; c; and 2 more."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newBulkView(jobs.Job{ID: "x", Action: tc.action, Items: tc.items})
			if v.Summary != tc.want {
				t.Errorf("summary %q, want %q", v.Summary, tc.want)
			}
		})
	}
}
