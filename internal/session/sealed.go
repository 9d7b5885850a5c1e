package session

import (
	"context"
	"fmt"
	"time"
)

// SealedStore wraps a Store so that the secrets of a session (the PVE ticket
// and CSRF token) are sealed before they reach it and opened when they come
// back. The JSON field names stay; their values are useless without
// SESSION_SECRET and only open for the session id they were sealed for.
type SealedStore struct {
	inner Store
	codec *Codec
}

// Sealed returns store with Ticket and CSRFToken sealed by codec.
func Sealed(store Store, codec *Codec) *SealedStore {
	return &SealedStore{inner: store, codec: codec}
}

// Field names used as sealing context.
const (
	fieldTicket = "ticket"
	fieldCSRF   = "csrfToken"
)

// Load returns the session with its secrets opened. A session whose sealed
// values do not open (another secret, tampering, values moved from another
// session) counts as not found: the error matches ErrNotFound and wraps
// ErrSealedField.
func (s *SealedStore) Load(ctx context.Context, id string) (Session, error) {
	sess, err := s.inner.Load(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if sess.Ticket, err = s.codec.OpenField(id, fieldTicket, sess.Ticket); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if sess.CSRFToken, err = s.codec.OpenField(id, fieldCSRF, sess.CSRFToken); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return sess, nil
}

// Save seals the secrets and saves the session.
func (s *SealedStore) Save(ctx context.Context, sess Session, ttl time.Duration) error {
	if err := validateSave(sess, ttl); err != nil {
		return err
	}
	var err error
	if sess.Ticket, err = s.codec.SealField(sess.ID, fieldTicket, sess.Ticket); err != nil {
		return err
	}
	if sess.CSRFToken, err = s.codec.SealField(sess.ID, fieldCSRF, sess.CSRFToken); err != nil {
		return err
	}
	return s.inner.Save(ctx, sess, ttl)
}

// Delete deletes the session.
func (s *SealedStore) Delete(ctx context.Context, id string) error {
	return s.inner.Delete(ctx, id)
}

// ListUser returns the user's sessions with their secrets opened; sessions
// whose values do not open are left out.
func (s *SealedStore) ListUser(ctx context.Context, username string) ([]Session, error) {
	list, err := s.inner.ListUser(ctx, username)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, sess := range list {
		t, terr := s.codec.OpenField(sess.ID, fieldTicket, sess.Ticket)
		c, cerr := s.codec.OpenField(sess.ID, fieldCSRF, sess.CSRFToken)
		if terr != nil || cerr != nil {
			continue
		}
		sess.Ticket, sess.CSRFToken = t, c
		out = append(out, sess)
	}
	return out, nil
}

// TryLock passes through to the wrapped store.
func (s *SealedStore) TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	return s.inner.TryLock(ctx, name, ttl)
}
