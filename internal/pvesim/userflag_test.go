package pvesim

import "testing"

func TestParseUserFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    User
		wantErr bool
	}{
		{in: "alice@pve:secret", want: User{ID: "alice@pve", Password: "secret"}},
		{in: "root@pam:proxmox", want: User{ID: "root@pam", Password: "proxmox"}},
		{in: "bob@ldap-corp.example:p@ss word", want: User{ID: "bob@ldap-corp.example", Password: "p@ss word"}},
		{in: "a.b-c@pve:x=y", want: User{ID: "a.b-c@pve", Password: "x=y"}},
		{in: "alice@pve", wantErr: true},
		{in: "alice@pve:", wantErr: true},
		{in: ":secret", wantErr: true},
		{in: "alice:secret", wantErr: true},
		{in: "@pve:secret", wantErr: true},
		{in: "alice@:secret", wantErr: true},
		{in: "alice@1pve:secret", wantErr: true},
		{in: "al ice@pve:secret", wantErr: true},
		{in: "alice@pve:pass:word", wantErr: true},
		{in: "alice@pve:secret:nosuch=1", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseUserFlag(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
