// Package session keeps signed-in users' server-side state.
//
// The browser only ever holds an encrypted, HttpOnly cookie carrying the
// session id (see Codec). Everything else — the Proxmox VE ticket, its CSRF
// token, who the user is and when the session ends — lives server side in a
// Store: Redis in production (RedisStore), memory in demo mode (MemoryStore).
package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Session is one signed-in person's server-side state.
type Session struct {
	// ID is the session id; it is the storage key, never part of the stored value.
	ID string `json:"-"`
	// Ticket is the PVE authentication ticket. It is a secret: never log it.
	Ticket string `json:"ticket"`
	// CSRFToken is the PVE CSRFPreventionToken. It is a secret: never log it.
	CSRFToken string `json:"csrfToken"`
	// Username is the user as PVE returns it, e.g. "root@pam".
	Username string `json:"username"`
	// Realm is the PVE authentication realm, e.g. "pam" or "pve".
	Realm string `json:"realm"`
	// ExpiresAt is when the session ends. Stores keep it as RFC 3339 UTC.
	ExpiresAt time.Time `json:"expiresAt"`

	// Handle names the session on the Sessions page and in its sign-out
	// forms. Unlike the id it is not a secret.
	Handle string `json:"handle,omitempty"`
	// CreatedAt is the sign-in; the session ends SESSION_MAX_AGE after it.
	CreatedAt time.Time `json:"createdAt,omitzero"`
	// TicketIssuedAt is when PVE issued Ticket; it is renewed before it is
	// two hours old while the person is active.
	TicketIssuedAt time.Time `json:"ticketIssuedAt,omitzero"`
	// LastSeen is the last request with this session (updated at most once
	// a minute).
	LastSeen time.Time `json:"lastSeen,omitzero"`
	// ClientAddr and UserAgent describe where the session was started.
	ClientAddr string `json:"clientAddr,omitempty"`
	UserAgent  string `json:"userAgent,omitempty"`

	// sealed reports that Ticket and CSRFToken still hold their sealed
	// values (SealedStore.Load leaves them so; see SealedStore.Open).
	sealed bool
}

// Sealed reports whether Ticket and CSRFToken are still sealed: a session
// loaded through a SealedStore opens them only when they are needed.
func (s Session) Sealed() bool { return s.sealed }

// redacted stands in for secrets in String, GoString and LogValue.
const redacted = "[REDACTED]"

// String describes the session for humans with the id, ticket and CSRF token
// redacted, so printing a Session with %v or %+v never leaks them.
func (s Session) String() string {
	return fmt.Sprintf("session{id:%s ticket:%s csrfToken:%s username:%q realm:%q expiresAt:%s}",
		redactNonEmpty(s.ID), redactNonEmpty(s.Ticket), redactNonEmpty(s.CSRFToken),
		s.Username, s.Realm, s.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString is like String, so %#v never leaks secrets either.
func (s Session) GoString() string { return s.String() }

// LogValue makes log/slog record the session with its id, ticket and CSRF
// token redacted.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", redactNonEmpty(s.ID)),
		slog.String("ticket", redactNonEmpty(s.Ticket)),
		slog.String("csrfToken", redactNonEmpty(s.CSRFToken)),
		slog.String("username", s.Username),
		slog.String("realm", s.Realm),
		slog.Time("expiresAt", s.ExpiresAt.UTC()),
	)
}

// redactNonEmpty hides v but still shows whether it was set.
func redactNonEmpty(v string) string {
	if v == "" {
		return ""
	}
	return redacted
}

// ErrNotFound means the session id is unknown or the session has expired.
var ErrNotFound = errors.New("session: not found")

// ErrUnavailable means the session store cannot be reached. Errors returned
// for that reason are *UnavailableError values that match ErrUnavailable with
// errors.Is.
var ErrUnavailable = errors.New("session: store unavailable")

// ErrInvalid means a caller passed something the package cannot use: a
// session without an id or a non-positive TTL for a Store, an empty id to
// Codec.Encode, or a Codec not made by NewCodec. It is a programming error,
// not an outage.
var ErrInvalid = errors.New("session: invalid argument")

// UnavailableError reports that a store operation failed because the backend
// could not be reached or did not answer. errors.Is(err, ErrUnavailable) is
// true for it, and errors.Unwrap gives the underlying cause.
type UnavailableError struct {
	// Op names the failed operation, e.g. "load", "save" or "delete".
	Op string
	// Err is the underlying cause.
	Err error
}

// Error describes the failure. It never includes session contents.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("session: %s: store unavailable: %v", e.Op, e.Err)
}

// Unwrap returns the underlying cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Store keeps sessions.
//
// Contract:
//   - Load returns an error matching ErrNotFound for a missing or expired id,
//     and an error matching ErrUnavailable when the backend is down.
//   - Save writes a new session s under s.ID with the given TTL, overwriting
//     any previous value. An empty s.ID or a non-positive ttl yields an error
//     matching ErrInvalid. It is for sessions being created (sign-in).
//   - Update writes s under s.ID only while a session is stored there: it
//     never brings back a session that was deleted (a sign-out in another
//     request) or has expired, and then returns an error matching
//     ErrNotFound. ttl KeepTTL keeps the stored TTL; a positive ttl replaces
//     it (a renewal). Every write of an existing session goes through Update.
//   - Delete of a missing id is not an error.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Load returns the session stored under id.
	Load(ctx context.Context, id string) (Session, error)
	// Save stores the new session s under s.ID for ttl, replacing any
	// previous value.
	Save(ctx context.Context, s Session, ttl time.Duration) error
	// Update replaces the session stored under s.ID, only if there is one,
	// keeping its TTL (ttl KeepTTL) or setting a new one.
	Update(ctx context.Context, s Session, ttl time.Duration) error
	// Delete removes the session stored under id, if any.
	Delete(ctx context.Context, id string) error
	// ListUser returns the live sessions of a user (by Username), in no
	// particular order. Index entries of sessions that expired or were
	// deleted are cleaned up as they are found.
	ListUser(ctx context.Context, username string) ([]Session, error)
	// TryLock takes a short lock named name for ttl and reports whether it
	// got it; nobody else gets it until ttl passes. It keeps concurrent
	// requests of one session from renewing its ticket twice.
	TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error)
}

// idBytes is how much randomness a session id carries.
const idBytes = 32

// NewID returns a new random session id: 32 bytes from crypto/rand, encoded
// with unpadded base64url (43 characters).
func NewID() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: new id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// keyPrefix prefixes every session key in Redis.
const keyPrefix = "session:"

// UserKey returns the Redis key of a user's session index:
// "user-sessions:" + username.
func UserKey(username string) string { return "user-sessions:" + username }

// Key returns the Redis key of the session with the given id: "session:" + id.
func Key(id string) string { return keyPrefix + id }

// KeepTTL, passed to Store.Update, keeps the TTL the session has.
const KeepTTL time.Duration = -1

// validateUpdate checks the arguments every Store.Update shares.
func validateUpdate(s Session, ttl time.Duration) error {
	if s.ID == "" {
		return fmt.Errorf("%w: update: empty session id", ErrInvalid)
	}
	if ttl <= 0 && ttl != KeepTTL {
		return fmt.Errorf("%w: update: ttl must be positive or KeepTTL, got %v", ErrInvalid, ttl)
	}
	return nil
}

// validateSave checks the arguments every Store.Save shares.
func validateSave(s Session, ttl time.Duration) error {
	if s.ID == "" {
		return fmt.Errorf("%w: save: empty session id", ErrInvalid)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: save: ttl must be positive, got %v", ErrInvalid, ttl)
	}
	return nil
}
