package access

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// Users, realms and password checks (AccessControl::authenticate_user and
// the realm plugins).

// User is an account of the simulated cluster, with its optional second
// factors. The zero factor fields mean none: the user signs in with the
// password alone.
type User struct {
	ID       string // "root@pam", "alice@pve"
	Password string

	// TOTPSecret is the base32 secret of a TOTP entry (RFC 6238, SHA-1,
	// 6 digits, 30 s), at least 16 characters, case and '=' padding
	// ignored.
	TOTPSecret string
	// RecoveryKeys are single-use keys like "d470-94c5-4d3c-d70f"
	// (lower-case hex, 1 to 10 of them; PVE generates 10). A key's index
	// is its position here.
	RecoveryKeys []string
	// WebAuthn registers a security key: the challenge carries a WebAuthn
	// request, but no answer can succeed.
	WebAuthn bool
	// Yubico registers a Yubico OTP key: the challenge says "yubico":
	// true, but without a realm that enforces Yubico PVE accepts no
	// "yubico:" answer.
	Yubico bool
}

// account is one user of user.cfg (plus its password in the realm and
// its second factors).
type account struct {
	id          string
	password    string
	hasPassword bool      // false: no password set (root@pam when not configured)
	enabled     bool      // "enable" flag; disabled users cannot log in
	expire      int64     // unix time after which the account is expired; 0 never
	tfa         *tfaState // second factors; nil none

	email, firstName, lastName string
}

// Directory is the users and realms of the cluster.
type Directory struct {
	users  map[string]*account
	realms []RealmEntry
	log    *slog.Logger
	now    func() time.Time
}

// NewDirectory builds a directory with realms (nil: DefaultRealms) and no
// users; log receives the authentication failures' real reasons.
func NewDirectory(realms []Realm, log *slog.Logger, now func() time.Time) (*Directory, error) {
	rs, err := buildRealms(realms)
	if err != nil {
		return nil, err
	}
	return &Directory{users: map[string]*account{}, realms: rs, log: log, now: now}, nil
}

// Realms returns the realms in their configured order.
func (d *Directory) Realms() []RealmEntry {
	return append([]RealmEntry(nil), d.realms...)
}

// findRealm returns the realm named name, or nil.
func (d *Directory) findRealm(name string) *RealmEntry {
	for i := range d.realms {
		if d.realms[i].Name == name {
			return &d.realms[i]
		}
	}
	return nil
}

// HasRealm reports whether realm name exists.
func (d *Directory) HasRealm(name string) bool { return d.findRealm(name) != nil }

// Has reports whether user id exists.
func (d *Directory) Has(id string) bool {
	_, ok := d.users[id]
	return ok
}

// Put adds u or updates an existing user: the password always, the second
// factors only when u sets any (they then replace the old ones, with fresh
// counters). u's factors must be valid (CheckFactors).
func (d *Directory) Put(u User) {
	old, ok := d.users[u.ID]
	if !ok {
		d.users[u.ID] = &account{id: u.ID, password: u.Password, hasPassword: true, enabled: true, tfa: newTFAState(u)}
		return
	}
	old.password, old.hasPassword = u.Password, true
	if u.HasFactors() {
		old.tfa = newTFAState(u)
	}
}

// EnsureRoot adds root@pam without a password if it does not exist:
// root@pam is always in user.cfg, and without a configured password it
// simply cannot log in.
func (d *Directory) EnsureRoot() {
	if _, ok := d.users[RootUser]; !ok {
		d.users[RootUser] = &account{id: RootUser, enabled: true}
	}
}

// Remove deletes a user ("pveum user delete"); root@pam cannot go.
func (d *Directory) Remove(id string) error {
	if id == RootUser {
		return fmt.Errorf("root@pam cannot be removed")
	}
	if _, ok := d.users[id]; !ok {
		return fmt.Errorf("no such user ('%s')", id)
	}
	delete(d.users, id)
	return nil
}

var (
	useridRe  = regexp.MustCompile(`^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)$`)
	tokenIDRe = regexp.MustCompile(`^([^\s:/]+)@([A-Za-z][A-Za-z0-9.\-_]+)!([A-Za-z][A-Za-z0-9.\-_]+)$`)
)

// VerifyUsername is PVE::Auth::Plugin::verify_username. It returns the
// user and realm parts, or the die message (with "\n").
func VerifyUsername(username string) (ruid, realmName, errMsg string) {
	n := len([]rune(username))
	if n < 3 {
		return "", "", fmt.Sprintf("user name '%s' is too short\n", username)
	}
	if n > 64 {
		return "", "", fmt.Sprintf("user name '%s' is too long (%d > 64)\n", username, n)
	}
	m := useridRe.FindStringSubmatch(username)
	if m == nil {
		return "", "", fmt.Sprintf("value '%s' does not look like a valid user name\n", username)
	}
	return m[1], m[2], ""
}

// SplitTokenID splits "user@realm!token" into the userid and the token
// name; ok is false if v is not a token id.
func SplitTokenID(v string) (userid, token string, ok bool) {
	m := tokenIDRe.FindStringSubmatch(v)
	if m == nil {
		return "", "", false
	}
	return m[1] + "@" + m[2], m[3], true
}

// RealmOf returns the realm part of a userid ("" if there is none).
func RealmOf(userid string) string {
	if i := strings.LastIndexByte(userid, '@'); i >= 0 {
		return userid[i+1:]
	}
	return ""
}

// CheckUserEnabled is AccessControl::check_user_enabled; it returns the
// die message or "".
func (d *Directory) CheckUserEnabled(userid string) string {
	if _, _, msg := VerifyUsername(userid); msg != "" {
		return msg
	}
	u, ok := d.users[userid]
	if !ok {
		return fmt.Sprintf("no such user ('%s')\n", userid)
	}
	if !u.enabled {
		return fmt.Sprintf("user '%s' is disabled\n", userid)
	}
	if u.expire != 0 && u.expire < d.now().Unix() {
		return fmt.Sprintf("user '%s' access expired\n", userid)
	}
	return ""
}

// Authenticate is AccessControl::authenticate_user. With a (Perl-true)
// tfaChallenge the password is the second-factor response to it: the
// partial ticket is checked by checkChallenge (tickets belong to the
// caller; it returns the die message or "") and the first factor is not
// checked again. Otherwise the password is checked in the realm, and for
// a user with second factors the challenge JSON is returned (otp, when
// given, is checked first). It returns the die message or "".
func (d *Directory) Authenticate(userid, password, otp string, hasOTP bool, tfaChallenge string,
	checkChallenge func(userid, partial string) string) (challenge, errMsg string) {
	if userid == "" {
		return "", "no username specified\n"
	}
	if _, _, msg := VerifyUsername(userid); msg != "" {
		return "", msg
	}
	if msg := d.CheckUserEnabled(userid); msg != "" {
		return "", msg
	}
	rlm := d.findRealm(RealmOf(userid))
	if rlm == nil {
		return "", fmt.Sprintf("auth domain '%s' does not exist\n", RealmOf(userid))
	}
	u := d.users[userid]
	if perl.True(tfaChallenge, true) {
		if msg := checkChallenge(userid, tfaChallenge); msg != "" {
			return "", msg
		}
		return "", d.verifySecondFactor(u, password)
	}
	if msg := checkPassword(rlm, u, password); msg != "" {
		return "", msg
	}
	return d.firstStepTFA(u, otp, hasOTP)
}

// checkPassword is the realm plugin's authenticate_user. LDAP and AD
// directories are simulated by the user table.
func checkPassword(rlm *RealmEntry, u *account, password string) string {
	switch rlm.Type {
	case "pve":
		// PVE and PAM plugins: die "no password" if !$password (so "0"
		// is no password either).
		if !perl.True(password, true) {
			return "no password\n"
		}
		if !u.hasPassword {
			return "no password set\n"
		}
		if u.password != password {
			return "invalid credentials\n"
		}
	case "pam":
		if !perl.True(password, true) {
			return "no password\n"
		}
		if !u.hasPassword || u.password != password {
			return "Authentication failure\n"
		}
	case "ldap", "ad":
		// The bind with the user's DN and password fails.
		if password == "" || !u.hasPassword || u.password != password {
			return "Invalid credentials\n"
		}
	default: // openid
		return "OpenID realm does not allow password verification.\n"
	}
	return ""
}
