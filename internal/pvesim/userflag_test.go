package pvesim

import (
	"reflect"
	"strings"
	"testing"
)

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

		// Second factors.
		{in: "bob@pve:bob-pass:totp=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
			want: User{ID: "bob@pve", Password: "bob-pass", TOTPSecret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}},
		{in: "bob@pve:bob-pass:totp=jbswy3dpehpk3pxp====",
			want: User{ID: "bob@pve", Password: "bob-pass", TOTPSecret: "jbswy3dpehpk3pxp===="}},
		{in: "bob@pve:bob-pass:recovery=d470-94c5-4d3c-d70f,aeb1-a8cf-7377-b37b",
			want: User{ID: "bob@pve", Password: "bob-pass", RecoveryKeys: []string{"d470-94c5-4d3c-d70f", "aeb1-a8cf-7377-b37b"}}},
		{in: "bob@pve:bob-pass:webauthn:yubico",
			want: User{ID: "bob@pve", Password: "bob-pass", WebAuthn: true, Yubico: true}},
		{in: "bob@pve:bob-pass:yubico:totp=JBSWY3DPEHPK3PXP:recovery=0123-4567-89ab-cdef:webauthn",
			want: User{ID: "bob@pve", Password: "bob-pass", TOTPSecret: "JBSWY3DPEHPK3PXP",
				RecoveryKeys: []string{"0123-4567-89ab-cdef"}, WebAuthn: true, Yubico: true}},
		{in: "bob@pve:bob-pass:totp=", wantErr: true},
		{in: "bob@pve:bob-pass:totp", wantErr: true},
		{in: "bob@pve:bob-pass:totp=JBSWY3DPEHPK3PX", wantErr: true},   // 15 characters
		{in: "bob@pve:bob-pass:totp=JBSWY3DPEHPK3PX1", wantErr: true},  // not base32
		{in: "bob@pve:bob-pass:totp=JBSWY3DPEHPK3PXPJ", wantErr: true}, // bad length
		{in: "bob@pve:bob-pass:totp=JBSWY3DPEHPK3PXP:totp=JBSWY3DPEHPK3PXP", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=D470-94C5-4D3C-D70F", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=d47094c54d3cd70f", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=d470-94c5-4d3c-d70g", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=d470-94c5-4d3c-d70f,", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=d470-94c5-4d3c-d70f,d470-94c5-4d3c-d70f", wantErr: true},
		{in: "bob@pve:bob-pass:recovery=" + strings.Join(DemoRecoveryKeys(), ","),
			want: User{ID: "bob@pve", Password: "bob-pass", RecoveryKeys: DemoRecoveryKeys()}},
		{in: "bob@pve:bob-pass:recovery=" + strings.Join(DemoRecoveryKeys(), ",") + ",0123-4567-89ab-cdef", wantErr: true}, // 11
		{in: "bob@pve:bob-pass:webauthn=1", wantErr: true},
		{in: "bob@pve:bob-pass:yubico=", wantErr: true},
		{in: "bob@pve:bob-pass:webauthn:webauthn", wantErr: true},
		{in: "bob@pve:bob-pass:u2f", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseUserFlag(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
