package pvesim

import (
	"fmt"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
)

// userFlagOption parses one option of a user flag: value is what follows
// '=' (has reports whether there was one).
type userFlagOption func(u *User, value string, has bool) error

// userFlagOptions are the fields ParseUserFlag accepts after the password.
var userFlagOptions = map[string]userFlagOption{
	"totp": func(u *User, v string, has bool) error {
		if !has || v == "" {
			return fmt.Errorf("want totp=BASE32SECRET")
		}
		if _, err := access.DecodeTOTPSecret(v); err != nil {
			return err
		}
		u.TOTPSecret = v
		return nil
	},
	"recovery": func(u *User, v string, has bool) error {
		if !has || v == "" {
			return fmt.Errorf("want recovery=KEY[,KEY]")
		}
		keys := strings.Split(v, ",")
		if err := access.CheckRecoveryKeys(keys); err != nil {
			return err
		}
		u.RecoveryKeys = keys
		return nil
	},
	"webauthn": func(u *User, _ string, has bool) error {
		if has {
			return fmt.Errorf("takes no value")
		}
		u.WebAuthn = true
		return nil
	},
	"yubico": func(u *User, _ string, has bool) error {
		if has {
			return fmt.Errorf("takes no value")
		}
		u.Yubico = true
		return nil
	},
}

// ParseUserFlag parses a command-line user definition
//
//	NAME@REALM:PASSWORD[:totp=BASE32SECRET][:recovery=KEY,KEY,...][:webauthn][:yubico]
//
// The userid ends at the first ':' (PVE userids cannot contain ':'), the
// password at the next one, so a password cannot contain ':'. The userid
// must be a valid PVE userid (name, '@', realm) and the password must not
// be empty. The options give the user second factors (see User): a TOTP
// secret (base32, at least 16 characters), 1 to 10 distinct recovery keys
// in PVE's form xxxx-xxxx-xxxx-xxxx (lower-case hex), a WebAuthn key, a
// Yubico key. Each option may appear once.
func ParseUserFlag(v string) (User, error) {
	fields := strings.Split(v, ":")
	if len(fields) < 2 {
		return User{}, fmt.Errorf("user %q: want NAME@REALM:PASSWORD", v)
	}
	id, password := fields[0], fields[1]
	if id == "" {
		return User{}, fmt.Errorf("user flag: empty user name before ':'")
	}
	if !strings.Contains(id, "@") {
		return User{}, fmt.Errorf("user %q: want NAME@REALM", id)
	}
	if _, _, msg := access.VerifyUsername(id); msg != "" {
		return User{}, fmt.Errorf("user %q: %s", id, strings.TrimSpace(msg))
	}
	if password == "" {
		return User{}, fmt.Errorf("user %q: empty password", id)
	}
	u := User{ID: id, Password: password}
	seen := map[string]bool{}
	for _, f := range fields[2:] {
		key, val, has := strings.Cut(f, "=")
		parse, known := userFlagOptions[key]
		if !known {
			return User{}, fmt.Errorf("user %q: unknown option %q (want totp=, recovery=, webauthn or yubico; passwords cannot contain ':')", id, f)
		}
		if seen[key] {
			return User{}, fmt.Errorf("user %q: option %s given twice", id, key)
		}
		seen[key] = true
		if err := parse(&u, val, has); err != nil {
			return User{}, fmt.Errorf("user %q: option %s: %w", id, key, err)
		}
	}
	return u, nil
}
