package access

import (
	"fmt"
	"regexp"
)

// Realm is an authentication domain of domains.cfg, as offered by GET
// /access/domains for the login box.
type Realm struct {
	Name    string // realm id, the part after '@' in a userid
	Type    string // "pam", "pve", "ldap", "ad" or "openid"
	Comment string
	Default bool // preselected in the login box; at most one realm
	// OpenID is the section of an OpenID Connect realm (Type "openid");
	// nil gives client id = the realm's name, no client key, the
	// simulator's own provider and PVE's defaults.
	OpenID *OpenIDConfig
}

// DefaultRealms returns the realms of every scenario: pam (the default),
// pve, corp (an LDAP directory, simulated by the simulator's own user
// table) and sso (OpenID Connect through the simulator's own provider,
// users named by their preferred_username and created on first sign-in;
// password sign-in is refused, as in PVE).
func DefaultRealms() []Realm {
	return []Realm{
		{Name: "pam", Type: "pam", Comment: PAMComment, Default: true},
		{Name: "pve", Type: "pve", Comment: PVEComment},
		{Name: "corp", Type: "ldap", Comment: "Corporate directory (LDAP)"},
		{Name: "sso", Type: "openid", Comment: "Single sign-on (OpenID Connect)", OpenID: &OpenIDConfig{
			ClientID: SSOClientID, ClientKey: SSOClientKey, Autocreate: true, UsernameClaim: "preferred_username"}},
	}
}

// The sso realm's client at the simulator's provider.
const (
	SSOClientID  = "pve-sso"
	SSOClientKey = "pve-sso-client-key"
)

// The comments PVE gives its two built-in realms when they have none.
const (
	PAMComment = "Linux PAM standard authentication"
	PVEComment = "Proxmox VE authentication server"
)

var realmNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)

// RealmEntry is one realm as GET /access/domains lists it.
type RealmEntry struct {
	Realm
	TFA string // realm-enforced TFA type ("oath", "yubico"); "" none (not modelled)
}

// buildRealms validates a realm list (nil: DefaultRealms). pam and pve
// always exist, as in PVE, which adds them (and their comments) when
// domains.cfg lacks them.
func buildRealms(list []Realm) ([]RealmEntry, error) {
	if list == nil {
		list = DefaultRealms()
	}
	var out []RealmEntry
	seen := map[string]bool{}
	defaults := 0
	for _, r := range list {
		if !realmNameRe.MatchString(r.Name) || len(r.Name) > 32 {
			return nil, fmt.Errorf("invalid realm name %q", r.Name)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("realm %q given twice", r.Name)
		}
		seen[r.Name] = true
		switch r.Type {
		case "pam", "pve":
			if r.Name != r.Type {
				return nil, fmt.Errorf("realm %q: type %s is only for the built-in realm %q", r.Name, r.Type, r.Type)
			}
		case "ldap", "ad", "openid":
		default:
			return nil, fmt.Errorf("realm %q: unknown type %q (want pam, pve, ldap, ad or openid)", r.Name, r.Type)
		}
		if r.Default {
			defaults++
		}
		if r.Type == "openid" {
			cfg := OpenIDConfig{ClientID: r.Name}
			if r.OpenID != nil {
				cfg = *r.OpenID
			}
			r.OpenID = &cfg
		} else if r.OpenID != nil {
			return nil, fmt.Errorf("realm %q: OpenID settings on a %s realm", r.Name, r.Type)
		}
		out = append(out, RealmEntry{Realm: r})
	}
	if defaults > 1 {
		return nil, fmt.Errorf("%d realms are marked default; at most one may be", defaults)
	}
	for _, builtin := range []string{"pam", "pve"} {
		if !seen[builtin] {
			out = append(out, RealmEntry{Realm: Realm{Name: builtin, Type: builtin}})
		}
	}
	for i := range out {
		r := &out[i]
		if r.Comment == "" && r.Name == "pam" {
			r.Comment = PAMComment
		}
		if r.Comment == "" && r.Name == "pve" {
			r.Comment = PVEComment
		}
	}
	return out, nil
}
