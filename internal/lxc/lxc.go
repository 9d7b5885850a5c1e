// Package lxc is the dashboard's domain vocabulary: who is signed in, what a
// Proxmox VE cluster looks like to them, and the error codes every layer
// shares. It depends on nothing else in the project.
package lxc

import (
	"strings"
	"time"
)

// Credentials are what a person types to sign in. Password is a secret and
// must never be logged.
type Credentials struct {
	Username string // bare name ("root") or full userid ("root@pam")
	Realm    string // realm chosen in the form; ignored when Username has one
	Password string
}

// UserID returns the PVE userid the credentials name: Username as typed when
// it already carries a realm, else Username@Realm. A name typed with its realm
// never gets a second one.
func (c Credentials) UserID() string {
	if strings.Contains(c.Username, "@") {
		return c.Username
	}
	return c.Username + "@" + c.Realm
}

// Identity is a signed-in PVE user as the API client needs it on every call.
// Ticket and CSRFToken are secrets.
type Identity struct {
	Username  string // canonical userid as PVE returned it, e.g. "root@pam"
	Ticket    string
	CSRFToken string
}

// Realm returns the realm part of the userid ("pam" for "root@pam").
func (id Identity) Realm() string { return RealmOf(id.Username) }

// RealmOf returns the realm of a userid: the text after the last '@'.
func RealmOf(userid string) string {
	if i := strings.LastIndexByte(userid, '@'); i >= 0 {
		return userid[i+1:]
	}
	return ""
}

// Version is what GET /version reports.
type Version struct {
	Version string // pve-manager version, e.g. "9.1.4"
	Release string // e.g. "9.1"
	RepoID  string
}

// Node is a cluster member as GET /nodes lists it. The statistics are zero
// when the user lacks Sys.Audit on the node (HasStats false).
type Node struct {
	Name     string
	Status   string // online, offline or unknown
	HasStats bool
	CPU      float64 // fraction of MaxCPU in use
	MaxCPU   int
	Mem      int64
	MaxMem   int64
	Uptime   time.Duration
}

// Realm is a sign-in realm PVE offers (GET /access/domains).
type Realm struct {
	Name    string // "pam", "pve", "corp-ldap"
	Type    string // pam, pve, ldap, ad, openid
	Comment string // the label PVE's own login box shows
	Default bool
	TFA     string // "oath" or "yubico" when the realm enforces a second factor
}

// PasswordLogin reports whether people of this realm sign in with a
// password (every type but OpenID, which redirects to an identity provider).
func (r Realm) PasswordLogin() bool { return r.Type != "openid" }

// TFAChallenge is PVE's answer to a right password of an account with
// second factors (NeedTFA): what the account may answer with, and the
// partial ticket to send back with the answer. Ticket is a secret that must
// never reach a browser in readable form.
type TFAChallenge struct {
	Username string
	Ticket   string
	TOTP     bool
	Recovery []int // indices of the recovery keys still unused
	WebAuthn bool
	Yubico   bool
}

// SecondFactorError is returned by a sign-in that needs a second factor. It
// matches ErrSecondFactor.
type SecondFactorError struct {
	Challenge TFAChallenge
}

func (e *SecondFactorError) Error() string { return ErrSecondFactor.Error() }

// Is makes errors.Is(err, ErrSecondFactor) true.
func (e *SecondFactorError) Is(target error) bool { return target == ErrSecondFactor }
