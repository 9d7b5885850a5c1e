package web

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// deviceTTL is how long a browser stays known after its last successful
// sign-in.
const deviceTTL = 30 * 24 * time.Hour

// Device cookies are sealed session fields of this pseudo-session and
// field name, so no other sealed value opens as one.
const (
	deviceSealID    = "device"
	deviceSealField = "device-cookie"
)

// deviceToken is what a device cookie holds, sealed: a browser that signed
// in as User. Such a browser is limited per device instead of per account
// (signin_limits.go), so a guesser cannot lock its owner out.
type deviceToken struct {
	User    string    `json:"u"` // user id as PVE returned it
	ID      string    `json:"d"` // random, names the per-device counter
	Expires time.Time `json:"e"`
}

// deviceFor returns the device cookie of r when it is valid and names
// user (compared case-insensitively).
func (s *Server) deviceFor(r *http.Request, user string) (deviceToken, bool) {
	c, err := r.Cookie(s.cookieName(deviceCookie))
	if err != nil {
		return deviceToken{}, false
	}
	plain, err := s.cfg.Codec.OpenField(deviceSealID, deviceSealField, c.Value)
	if err != nil || plain == "" {
		return deviceToken{}, false
	}
	var tok deviceToken
	if err := json.Unmarshal([]byte(plain), &tok); err != nil || tok.ID == "" {
		return deviceToken{}, false
	}
	if !s.cfg.Now().Before(tok.Expires) || !strings.EqualFold(tok.User, user) {
		return deviceToken{}, false
	}
	return tok, true
}

// setDeviceCookie marks the browser as one user signed in with, for
// deviceTTL from now, under a fresh device id.
func (s *Server) setDeviceCookie(w http.ResponseWriter, user string) error {
	tok := deviceToken{User: user, ID: randomString(16, hex.EncodeToString), Expires: s.cfg.Now().Add(deviceTTL).UTC()}
	b, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("device cookie: %w", err)
	}
	sealed, err := s.cfg.Codec.SealField(deviceSealID, deviceSealField, string(b))
	if err != nil {
		return fmt.Errorf("device cookie: %w", err)
	}
	s.writeCookie(w, deviceCookie, sealed, deviceTTL)
	return nil
}
