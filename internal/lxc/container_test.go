package lxc

import (
	"slices"
	"testing"
)

func TestPermissionsHas(t *testing.T) {
	alice := Permissions{
		"/pool/dev": {"VM.PowerMgmt": true, "VM.Audit": true},
		"/vms/101":  {"VM.PowerMgmt": true, "VM.Audit": true},
	}
	auditor := Permissions{"/": {"VM.Audit": true}, "/vms": {"VM.Audit": true}}
	nonProp := Permissions{"/vms": {"VM.PowerMgmt": false}}
	root := Permissions{"/": {"VM.PowerMgmt": true}}
	cases := []struct {
		name string
		p    Permissions
		vmid int
		pool string
		priv string
		want bool
	}{
		{"listed vm", alice, 101, "", "VM.PowerMgmt", true},
		{"pool member", alice, 105, "dev", "VM.PowerMgmt", true},
		{"outside pool", alice, 200, "prod", "VM.PowerMgmt", false},
		{"no pool", alice, 200, "", "VM.PowerMgmt", false},
		{"auditor power", auditor, 101, "", "VM.PowerMgmt", false},
		{"auditor audit inherited", auditor, 101, "", "VM.Audit", true},
		{"non-propagating parent", nonProp, 101, "", "VM.PowerMgmt", false},
		{"root inherited", root, 999, "", "VM.PowerMgmt", true},
		{"nil permissions", nil, 101, "", "VM.Audit", false},
	}
	for _, tc := range cases {
		if got := tc.p.CanOnContainer(tc.vmid, tc.pool, tc.priv); got != tc.want {
			t.Errorf("%s: CanOnContainer = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSplitTagsAndActions(t *testing.T) {
	if got := SplitTags("prod;web"); !slices.Equal(got, []string{"prod", "web"}) {
		t.Errorf("SplitTags = %v", got)
	}
	if SplitTags("") != nil {
		t.Error("SplitTags(\"\") not nil")
	}
	for _, a := range Actions() {
		if got, ok := ParseAction(string(a)); !ok || got != a {
			t.Errorf("ParseAction(%q)", a)
		}
	}
	if _, ok := ParseAction("destroy"); ok {
		t.Error("ParseAction accepted destroy")
	}
	if ActionShutdown.Verb() != "shut down" || ActionStart.Label() != "Start" {
		t.Error("verb/label")
	}
	if (Credentials{Username: "root@pam", Realm: "pve"}).UserID() != "root@pam" || (Credentials{Username: "root", Realm: "pve"}).UserID() != "root@pve" {
		t.Error("UserID")
	}
}
