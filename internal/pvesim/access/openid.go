package access

import (
	"fmt"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/perl"
)

// OpenIDConfig is an OpenID Connect realm's section of domains.cfg
// (PVE::Auth::OpenId), the keys the sign-in uses.
type OpenIDConfig struct {
	// IssuerURL is the provider (issuer-url). Empty in a realm given to
	// the simulator: the simulator's own provider, named here when the
	// simulator starts serving.
	IssuerURL string
	ClientID  string // client-id
	ClientKey string // client-key; "" a public client
	// Autocreate creates unknown users at their first sign-in.
	Autocreate bool
	// UsernameClaim is the claim that names the user (username-claim;
	// "" means sub; the legacy values "subject" and "username" mean sub
	// and preferred_username).
	UsernameClaim string
	Scopes        string // scopes; "" means "email profile"
	Prompt        string // prompt; "" none sent
	ACRValues     string // acr-values
	// NoUserinfo is query-userinfo=0 (PVE asks the userinfo endpoint by
	// default).
	NoUserinfo bool
	// Audiences are accepted in the ID token's aud besides the client id
	// (audiences, PVE 9.1.1+).
	Audiences string
}

// ScopeList is the scopes PVE asks for after "openid" (split_list).
func (c OpenIDConfig) ScopeList() []string {
	if c.Scopes == "" {
		return []string{"email", "profile"}
	}
	return perl.SplitList(c.Scopes)
}

// Realm returns the realm called name.
func (d *Directory) Realm(name string) (RealmEntry, bool) {
	r := d.findRealm(name)
	if r == nil {
		return RealmEntry{}, false
	}
	out := *r
	if r.OpenID != nil {
		cfg := *r.OpenID
		out.OpenID = &cfg
	}
	return out, true
}

// SetOpenID replaces an OpenID realm's settings.
func (d *Directory) SetOpenID(name string, cfg OpenIDConfig) error {
	r := d.findRealm(name)
	if r == nil || r.Type != "openid" {
		return fmt.Errorf("no OpenID realm %q", name)
	}
	r.OpenID = &cfg
	return nil
}

// UserAttrs is what user.cfg holds about a user besides its password.
type UserAttrs struct {
	Enabled   bool
	Email     string
	FirstName string
	LastName  string
}

// Lookup returns a user's attributes.
func (d *Directory) Lookup(id string) (UserAttrs, bool) {
	u, ok := d.users[id]
	if !ok {
		return UserAttrs{}, false
	}
	return UserAttrs{Enabled: u.enabled, Email: u.email, FirstName: u.firstName, LastName: u.lastName}, true
}

// Create adds a user without a password, as the OpenID sign-in's
// autocreate writes it to user.cfg (enable=1 and what the claims gave).
func (d *Directory) Create(id string, attrs UserAttrs) error {
	if _, ok := d.users[id]; ok {
		return fmt.Errorf("user '%s' already exists", id)
	}
	d.users[id] = &account{id: id, enabled: attrs.Enabled, email: attrs.Email, firstName: attrs.FirstName, lastName: attrs.LastName}
	return nil
}

// SetEnabled sets a user's enable flag.
func (d *Directory) SetEnabled(id string, enabled bool) error {
	u, ok := d.users[id]
	if !ok {
		return fmt.Errorf("no such user ('%s')", id)
	}
	u.enabled = enabled
	return nil
}
