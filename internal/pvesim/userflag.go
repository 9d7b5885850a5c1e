package pvesim

import (
	"fmt"
	"strings"
)

// userFlagOptions are the "key=value" fields ParseUserFlag accepts after
// the password. Later features (for example "totp=<secret>") register
// their parser here.
var userFlagOptions = map[string]func(u *User, value string) error{}

// ParseUserFlag parses a command-line user definition
// NAME@REALM:PASSWORD[:KEY=VALUE...].
//
// The userid ends at the first ':' (PVE userids cannot contain ':'), the
// password at the next one, so a password cannot contain ':'. Further
// fields are options; none are defined yet, so any is rejected. The userid
// must be a valid PVE userid (name, '@', realm) and the password must not
// be empty.
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
	if _, _, msg := verifyUsername(id); msg != "" {
		return User{}, fmt.Errorf("user %q: %s", id, strings.TrimSpace(msg))
	}
	if password == "" {
		return User{}, fmt.Errorf("user %q: empty password", id)
	}
	u := User{ID: id, Password: password}
	for _, f := range fields[2:] {
		key, val, ok := strings.Cut(f, "=")
		if !ok || key == "" {
			return User{}, fmt.Errorf("user %q: option %q is not KEY=VALUE (passwords cannot contain ':')", id, f)
		}
		parse, known := userFlagOptions[key]
		if !known {
			return User{}, fmt.Errorf("user %q: unknown option %q", id, key)
		}
		if err := parse(&u, val); err != nil {
			return User{}, fmt.Errorf("user %q: option %s: %w", id, key, err)
		}
	}
	return u, nil
}
