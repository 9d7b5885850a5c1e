package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// CookieName is the name of the cookie that carries the sealed session id.
// Sealed values are bound to it, so they do not open under any other name.
const CookieName = "lxc-session"

// MinSecretLength is the fewest characters a cookie secret may have.
const MinSecretLength = 32

// ErrInvalidCookie means a cookie value does not open: it is malformed,
// truncated, tampered with, or sealed with a secret the Codec does not know.
var ErrInvalidCookie = errors.New("session: invalid cookie")

// ErrSecretTooShort means a secret given to NewCodec has fewer than
// MinSecretLength characters.
var ErrSecretTooShort = errors.New("session: secret too short")

const (
	// cookieKeyInfo is the HKDF info string that separates the cookie key
	// from every other key derived from the same secret.
	cookieKeyInfo = "lxc-manager cookie v1"
	// fieldKeyInfo separates the key that seals session fields in the
	// store from the cookie key.
	fieldKeyInfo = "lxc-manager session field v1"
	// maxFieldLength bounds a sealed session field (a PVE ticket is a few
	// hundred bytes).
	maxFieldLength = 16 << 10
	// keySize is the AES-256 key size.
	keySize = 32
	// nonceSize is the standard GCM nonce size.
	nonceSize = 12
	// tagSize is the GCM authentication tag size.
	tagSize = 16
	// headerSize is the key-id byte plus the nonce.
	headerSize = 1 + nonceSize
	// maxCookieLength bounds the work Decode does; browsers cap a cookie at
	// about 4 KiB anyway.
	maxCookieLength = 4096
)

// cookieEncoding is unpadded base64url. Strict decoding rejects non-zero
// trailing bits, so each sealed value has exactly one textual form.
var cookieEncoding = base64.RawURLEncoding.Strict()

// deriveKey derives a 32-byte key from secret with HKDF-SHA256. info names
// the key's purpose; distinct infos give independent keys from one secret.
func deriveKey(secret, info string) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, info, keySize)
	if err != nil {
		return nil, fmt.Errorf("session: derive key: %w", err)
	}
	return key, nil
}

// newGCM returns AES-256-GCM keyed with key.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("session: new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session: new gcm: %w", err)
	}
	return aead, nil
}

// keyID names a derived key in sealed values without revealing it: the first
// byte of its SHA-256.
func keyID(key []byte) byte {
	sum := sha256.Sum256(key)
	return sum[0]
}

// codecKey is one usable key.
type codecKey struct {
	id   byte
	aead cipher.AEAD
}

// sealer seals and opens values with keys derived from a current secret and
// previous ones for one purpose (the HKDF info). A sealed value is unpadded
// base64url of
//
//	key id (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext and tag
//
// where the key id is the first byte of the key's SHA-256. seal always uses
// the current key; open tries every key whose id matches.
type sealer struct {
	keys   []codecKey // keys[0] is current; the rest are previous, in order.
	maxLen int        // longest sealed value open accepts
}

func newSealer(info string, maxLen int, secrets []string) (sealer, error) {
	sl := sealer{maxLen: maxLen}
	for _, s := range secrets {
		key, err := deriveKey(s, info)
		if err != nil {
			return sealer{}, err
		}
		aead, err := newGCM(key)
		if err != nil {
			return sealer{}, err
		}
		sl.keys = append(sl.keys, codecKey{id: keyID(key), aead: aead})
	}
	return sl, nil
}

// seal encrypts plain bound to aad with a fresh random nonce.
func (sl sealer) seal(plain, aad []byte) (string, error) {
	if len(sl.keys) == 0 {
		return "", fmt.Errorf("%w: seal: no key (use NewCodec)", ErrInvalid)
	}
	k := sl.keys[0]
	buf := make([]byte, headerSize, headerSize+len(plain)+tagSize)
	buf[0] = k.id
	if _, err := rand.Read(buf[1:headerSize]); err != nil {
		return "", fmt.Errorf("session: seal: nonce: %w", err)
	}
	buf = k.aead.Seal(buf, buf[1:headerSize], plain, aad)
	return cookieEncoding.EncodeToString(buf), nil
}

// open decrypts a value made by seal with the same aad. Its errors describe
// why, never the value; callers wrap them in their own sentinel.
func (sl sealer) open(value string, aad []byte) ([]byte, error) {
	if value == "" {
		return nil, errors.New("empty")
	}
	if len(value) > sl.maxLen {
		return nil, fmt.Errorf("%d bytes is too long", len(value))
	}
	// The decoder skips CR and LF; refuse them (and anything else outside
	// the alphabet) so only the canonical form of a value opens.
	for i := 0; i < len(value); i++ {
		if !isBase64URL(value[i]) {
			return nil, errors.New("not base64url")
		}
	}
	raw, err := cookieEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("not base64url: %w", err)
	}
	if len(raw) < headerSize+tagSize+1 {
		return nil, errors.New("too short")
	}
	kid, nonce, sealed := raw[0], raw[1:headerSize], raw[headerSize:]
	candidates := 0
	for _, k := range sl.keys {
		if k.id == kid {
			candidates++
		}
	}
	known := false
	for _, k := range sl.keys {
		if k.id != kid {
			continue
		}
		known = true
		// With a single candidate key (the usual case) decrypt in place;
		// a failed attempt may clobber the buffer, so with several each
		// gets its own.
		var dst []byte
		if candidates == 1 {
			dst = sealed[:0]
		}
		plain, err := k.aead.Open(dst, nonce, sealed, aad)
		if err == nil {
			return plain, nil
		}
	}
	if !known {
		return nil, errors.New("unknown key")
	}
	return nil, errors.New("authentication failed")
}

// Codec seals session ids into cookie values, and the secrets stored with a
// session (the PVE ticket and CSRF token) into values bound to that session.
//
// Cookie values use a key derived from the secret for cookies and are bound
// to CookieName. Session fields use an independent key and are bound to the
// session id and the field's name, so a value copied into another session,
// or into another field, does not open. Encode and SealField always use the
// current secret; Decode and OpenField also accept values sealed with
// previous secrets, so a secret can be rotated without signing everyone
// out. A Codec is safe for concurrent use.
//
// Build one with NewCodec; the zero value has no key.
type Codec struct {
	cookie sealer
	field  sealer
}

// NewCodec returns a Codec that seals with secret and also opens values
// sealed with any of previous. Every secret needs at least MinSecretLength
// characters (otherwise the error wraps ErrSecretTooShort); empty previous
// secrets and duplicates are ignored.
func NewCodec(secret string, previous ...string) (*Codec, error) {
	if n := utf8.RuneCountInString(secret); n < MinSecretLength {
		return nil, fmt.Errorf("%w: current secret has %d characters, need at least %d",
			ErrSecretTooShort, n, MinSecretLength)
	}
	seen := map[string]bool{}
	var secrets []string
	for i, s := range append([]string{secret}, previous...) {
		if s == "" || seen[s] {
			continue
		}
		if n := utf8.RuneCountInString(s); n < MinSecretLength {
			return nil, fmt.Errorf("%w: previous secret #%d has %d characters, need at least %d",
				ErrSecretTooShort, i, n, MinSecretLength)
		}
		seen[s] = true
		secrets = append(secrets, s)
	}
	cookie, err := newSealer(cookieKeyInfo, maxCookieLength, secrets)
	if err != nil {
		return nil, err
	}
	field, err := newSealer(fieldKeyInfo, maxFieldLength, secrets)
	if err != nil {
		return nil, err
	}
	return &Codec{cookie: cookie, field: field}, nil
}

// Encode seals id into a cookie value with the current secret. Each call uses
// a fresh random nonce, so sealing the same id twice gives different values.
func (c *Codec) Encode(id string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("%w: encode: empty session id", ErrInvalid)
	}
	v, err := c.cookie.seal([]byte(id), []byte(CookieName))
	if err != nil {
		return "", fmt.Errorf("session: encode: %w", err)
	}
	return v, nil
}

// Decode opens a cookie value made by Encode and returns the session id.
// It tries the current key and then previous ones, whichever carry the
// value's key id. Any value that does not open yields an error wrapping
// ErrInvalidCookie; Decode never panics. Errors never include the value.
func (c *Codec) Decode(value string) (string, error) {
	plain, err := c.cookie.open(value, []byte(CookieName))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidCookie, err)
	}
	return string(plain), nil
}

// ErrSealedField means a sealed session field does not open: it was
// tampered with, sealed for another session or field, or with a secret the
// Codec does not know.
var ErrSealedField = errors.New("session: sealed field does not open")

func fieldAAD(id, name string) []byte { return []byte("session:" + id + "\x00" + name) }

// SealField seals a secret value of session id (name is the field, e.g.
// "ticket"). An empty value stays empty.
func (c *Codec) SealField(id, name, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	if id == "" {
		return "", errors.New("session: seal field: empty session id")
	}
	return c.field.seal([]byte(value), fieldAAD(id, name))
}

// OpenField opens a value made by SealField for the same session id and
// field name. Errors wrap ErrSealedField and never include the value.
func (c *Codec) OpenField(id, name, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	plain, err := c.field.open(sealed, fieldAAD(id, name))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSealedField, name, err)
	}
	return string(plain), nil
}

// isBase64URL reports whether b belongs to the base64url alphabet.
func isBase64URL(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}
