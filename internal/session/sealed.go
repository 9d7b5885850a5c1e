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

// Load returns the session with its secrets still sealed (Sealed reports
// true): most requests never need them, and opening costs. Open them with
// Open when PVE is to be called.
func (s *SealedStore) Load(ctx context.Context, id string) (Session, error) {
	sess, err := s.inner.Load(ctx, id)
	if err != nil {
		return Session{}, err
	}
	sess.sealed = true
	return sess, nil
}

// Open returns sess with its ticket and CSRF token opened. Values that do
// not open (another secret, tampering, values copied from another session)
// give an error matching ErrNotFound and ErrSealedField: the session is
// unusable.
func (s *SealedStore) Open(sess Session) (Session, error) {
	return open(s.codec, sess)
}

func open(codec *Codec, sess Session) (Session, error) {
	if !sess.sealed {
		return sess, nil
	}
	var err error
	if sess.Ticket, err = codec.OpenField(sess.ID, fieldTicket, sess.Ticket); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if sess.CSRFToken, err = codec.OpenField(sess.ID, fieldCSRF, sess.CSRFToken); err != nil {
		return Session{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	sess.sealed = false
	return sess, nil
}

// OpenSession opens a session loaded through a SealedStore with codec (the
// same codec the store seals with).
func (c *Codec) OpenSession(sess Session) (Session, error) { return open(c, sess) }

// Save seals the secrets (unless they still are) and saves the new session.
func (s *SealedStore) Save(ctx context.Context, sess Session, ttl time.Duration) error {
	if err := validateSave(sess, ttl); err != nil {
		return err
	}
	sess, err := s.seal(sess)
	if err != nil {
		return err
	}
	return s.inner.Save(ctx, sess, ttl)
}

// Update seals the secrets (unless they still are) and updates the stored
// session, only if it is still there (see Store).
func (s *SealedStore) Update(ctx context.Context, sess Session, ttl time.Duration) error {
	if err := validateUpdate(sess, ttl); err != nil {
		return err
	}
	sess, err := s.seal(sess)
	if err != nil {
		return err
	}
	return s.inner.Update(ctx, sess, ttl)
}

// seal returns sess with its ticket and CSRF token sealed for its id.
func (s *SealedStore) seal(sess Session) (Session, error) {
	if sess.sealed {
		return sess, nil
	}
	var err error
	if sess.Ticket, err = s.codec.SealField(sess.ID, fieldTicket, sess.Ticket); err != nil {
		return Session{}, err
	}
	if sess.CSRFToken, err = s.codec.SealField(sess.ID, fieldCSRF, sess.CSRFToken); err != nil {
		return Session{}, err
	}
	return sess, nil
}

// Delete deletes the session.
func (s *SealedStore) Delete(ctx context.Context, id string) error {
	return s.inner.Delete(ctx, id)
}

// ListUser returns the user's sessions with their secrets still sealed.
func (s *SealedStore) ListUser(ctx context.Context, username string) ([]Session, error) {
	list, err := s.inner.ListUser(ctx, username)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].sealed = true
	}
	return list, nil
}

// TryLock passes through to the wrapped store.
func (s *SealedStore) TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	return s.inner.TryLock(ctx, name, ttl)
}
