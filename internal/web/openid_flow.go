package web

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/throttle"
)

// The OpenID flow cookie binds a sign-in through an OpenID realm to the
// browser that started it (against login CSRF: a callback URL carried to
// another browser, or an attacker's own code pushed into a victim's
// browser). It holds the sealed flow: the realm, the SHA-256 of the state
// PVE put into the provider's URL, the page to go to afterwards, the
// address the attempt was counted under, and an expiry. The callback
// must bring the same state, and the flow's id is claimed before PVE is
// asked, so each flow gives at most one session.

// openidCookie is the flow cookie's name (without the __Host- prefix).
const openidCookie = "lxc-openid"

// openidFlowTTL is how long a flow may take: PVE keeps its state for ten
// minutes.
const openidFlowTTL = 10 * time.Minute

// The flow is sealed as a field of this pseudo-session and name, so no
// other sealed value opens as one.
const (
	openidSealID    = "openid"
	openidSealField = "openid-flow"
)

// openidClaimPrefix keeps flow ids apart from second steps' ids in the
// shared claims store.
const openidClaimPrefix = "openid:"

// errFlowRefused means a callback cannot be used: no flow cookie, one
// that does not open or has expired, another flow's state, or a flow
// already used. Such callbacks never reach PVE.
var errFlowRefused = errors.New("openid flow refused")

// openidFlow is what the flow cookie holds.
type openidFlow struct {
	ID      string    `json:"i"`
	Realm   string    `json:"r"`
	State   string    `json:"s"` // hex SHA-256 of PVE's state parameter
	Next    string    `json:"n,omitempty"`
	Addr    string    `json:"a"` // address key the attempt was counted under
	Expires time.Time `json:"e"`
}

// setFlowCookie seals f into the flow cookie. It is SameSite=Lax, unlike
// the dashboard's other cookies: the provider sends the browser back with
// a cross-site navigation, which carries no Strict cookie.
func (s *Server) setFlowCookie(w http.ResponseWriter, f openidFlow) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("openid flow: %w", err)
	}
	sealed, err := s.cfg.Codec.SealField(openidSealID, openidSealField, string(b))
	if err != nil {
		return fmt.Errorf("openid flow: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(openidCookie), Value: sealed, Path: "/",
		MaxAge: int(openidFlowTTL / time.Second), HttpOnly: true, Secure: s.cfg.CookieSecure, SameSite: http.SameSiteLaxMode})
	return nil
}

// clearFlowCookie deletes the flow cookie.
func (s *Server) clearFlowCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(openidCookie), Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.CookieSecure, SameSite: http.SameSiteLaxMode})
}

// openFlow opens r's flow cookie and checks its expiry. Errors wrap
// errFlowRefused.
func (s *Server) openFlow(r *http.Request) (openidFlow, error) {
	c, err := r.Cookie(s.cookieName(openidCookie))
	if err != nil {
		return openidFlow{}, fmt.Errorf("%w: the browser has no flow cookie", errFlowRefused)
	}
	plain, err := s.cfg.Codec.OpenField(openidSealID, openidSealField, c.Value)
	if err != nil {
		return openidFlow{}, fmt.Errorf("%w: %w", errFlowRefused, err)
	}
	var f openidFlow
	if err := json.Unmarshal([]byte(plain), &f); err != nil {
		return openidFlow{}, fmt.Errorf("%w: decode: %w", errFlowRefused, err)
	}
	if f.ID == "" || f.Realm == "" || f.State == "" {
		return openidFlow{}, fmt.Errorf("%w: incomplete flow", errFlowRefused)
	}
	if !s.cfg.Now().Before(f.Expires) {
		return openidFlow{}, fmt.Errorf("%w: expired at %s", errFlowRefused, f.Expires.Format(time.RFC3339))
	}
	return f, nil
}

// matches reports whether state is the one f was started with.
func (f openidFlow) matches(state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(bindHash(state)), []byte(f.State)) == 1
}

// newFlow starts a flow for realm with PVE's state.
func (s *Server) newFlow(realm, state, next, addr string) openidFlow {
	return openidFlow{ID: randomString(16, hex.EncodeToString), Realm: realm, State: bindHash(state),
		Next: next, Addr: addr, Expires: s.cfg.Now().Add(openidFlowTTL).UTC()}
}

// Counter keys of OpenID sign-ins, under throttle: (signin_limits.go has
// the others). The account is not known before PVE answers, so a flow is
// counted per realm and address, and per address with everything else.
const openidKeyPrefix = "openid:" // openid:{address}|{realm}

// openidAttempt is the counters of one OpenID sign-in from the address
// key addr. One flow is one attempt: counted when it starts (before PVE
// is asked for the provider's URL, which stores a pending sign-in at
// PVE), given back when it ends in a session or never reached the
// provider; a flow abandoned, cancelled or refused stays counted.
func openidAttempt(addr, realm string) attempt {
	window := func(n int) throttle.Policy { return throttle.Policy{Max: n, Window: limitWindow} }
	pair := openidKeyPrefix + addr + "|" + strings.ToLower(realm)
	return attempt{
		limits: []throttle.Limit{
			{Key: pair, Policy: window(pairMax)},
			{Key: addressKeyPrefix + addr, Policy: window(addressMax)},
		},
		clearOnSuccess: []string{pair},
	}
}
