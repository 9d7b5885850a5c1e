package pvesim

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The pending OpenID authorizations (proxmox-openid auth_state.rs): one
// list per realm in /var/lib/pve-manager/proxmox-openid-auth-state-<realm>
// on the node that answered auth-url (node-local, not in pmxcfs). Every
// load drops entries older than ten minutes; more than a hundred pending
// entries refuse a new one. login finds its entry by the state's
// csrf_token and removes it before anything else, so a state works once,
// even when the sign-in then fails.

const (
	openidStateTimeout = 10 * 60 // seconds
	openidMaxPending   = 100
)

// openidAuthState is one pending authorization (PrivateAuthState).
type openidAuthState struct {
	csrfToken    string
	nonce        string
	pkceVerifier string
	ctime        int64
}

// openidPublicState is the state parameter sent through the provider:
// the JSON text {"csrf_token":...,"realm":...} (PublicAuthState).
type openidPublicState struct {
	CSRFToken string `json:"csrf_token"`
	Realm     string `json:"realm"`
}

// openidStates holds the pending authorizations per realm.
type openidStates map[string][]openidAuthState

// live drops the realm's expired entries and returns the rest.
func (m openidStates) live(realm string, now int64) []openidAuthState {
	var keep []openidAuthState
	for _, st := range m[realm] {
		if st.ctime+openidStateTimeout >= now {
			keep = append(keep, st)
		}
	}
	m[realm] = keep
	return keep
}

// add stores a new entry for realm.
func (m openidStates) add(realm string, st openidAuthState, now int64) error {
	if len(m.live(realm, now)) > openidMaxPending {
		return fmt.Errorf("too many pending openid auth request for realm %s", realm)
	}
	m[realm] = append(m[realm], st)
	return nil
}

// take removes and returns the entry a public state names
// (verify_public_auth_state). The error is the reason PVE logs.
func (m openidStates) take(state string, now int64) (string, openidAuthState, error) {
	var pub openidPublicState
	if err := json.Unmarshal([]byte(state), &pub); err != nil {
		return "", openidAuthState{}, err
	}
	list := m.live(pub.Realm, now)
	for i, st := range list {
		if st.csrfToken == pub.CSRFToken {
			m[pub.Realm] = append(list[:i:i], list[i+1:]...)
			return pub.Realm, st, nil
		}
	}
	return "", openidAuthState{}, errors.New("no openid auth state found (possible timeout)")
}

// publicState is the state parameter for st.
func publicState(realm string, st openidAuthState) string {
	b, _ := json.Marshal(openidPublicState{CSRFToken: st.csrfToken, Realm: realm}) // cannot fail for strings
	return string(b)
}
