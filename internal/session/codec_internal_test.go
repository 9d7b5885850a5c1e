package session

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
)

func TestDeriveKey(t *testing.T) {
	const secret = "test-secret-0123456789abcdefghijklmnop"
	base, err := deriveKey(secret, cookieKeyInfo)
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != keySize {
		t.Fatalf("key length %d, want %d", len(base), keySize)
	}
	tests := []struct {
		name     string
		secret   string
		info     string
		wantSame bool
	}{
		{name: "deterministic", secret: secret, info: cookieKeyInfo, wantSame: true},
		{name: "other info", secret: secret, info: "lxc-manager ticket v1", wantSame: false},
		{name: "other secret", secret: secret + "!", info: cookieKeyInfo, wantSame: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := deriveKey(tt.secret, tt.info)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Equal(k, base); got != tt.wantSame {
				t.Errorf("same key = %v, want %v", got, tt.wantSame)
			}
		})
	}
}

// TestCodecBindsCookieName checks the additional data: a value sealed with
// the right key but another name does not open.
func TestCodecBindsCookieName(t *testing.T) {
	const secret = "test-secret-0123456789abcdefghijklmnop"
	c, err := NewCodec(secret)
	if err != nil {
		t.Fatal(err)
	}
	k := c.cookie.keys[0]
	seal := func(aad string) string {
		buf := make([]byte, headerSize)
		buf[0] = k.id
		if _, err := rand.Read(buf[1:]); err != nil {
			t.Fatal(err)
		}
		buf = k.aead.Seal(buf, buf[1:headerSize], []byte("the-id"), []byte(aad))
		return base64.RawURLEncoding.EncodeToString(buf)
	}
	if got, err := c.Decode(seal(CookieName)); err != nil || got != "the-id" {
		t.Fatalf("hand-sealed value with the cookie name: %q, %v", got, err)
	}
	for _, aad := range []string{"", "lxc-session-other", "other"} {
		if got, err := c.Decode(seal(aad)); !errors.Is(err, ErrInvalidCookie) {
			t.Errorf("value sealed for %q: Decode = %q, %v; want ErrInvalidCookie", aad, got, err)
		}
	}
}

func TestCodecZeroValue(t *testing.T) {
	var c Codec
	if _, err := c.Encode("id"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Encode on the zero Codec: %v, want ErrInvalid", err)
	}
	if _, err := c.Decode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrInvalidCookie) {
		t.Errorf("Decode on the zero Codec: %v, want ErrInvalidCookie", err)
	}
}
