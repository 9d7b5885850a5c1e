package session_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

const (
	testSecret    = "test-secret-0123456789abcdefghijklmnop"
	testSecretOld = "old-secret-0123456789abcdefghijklmnopq"
	otherSecret   = "another-secret-0123456789abcdefghijklm"
)

func newCodec(tb testing.TB, secret string, previous ...string) *session.Codec {
	tb.Helper()
	c, err := session.NewCodec(secret, previous...)
	if err != nil {
		tb.Fatalf("NewCodec: %v", err)
	}
	return c
}

func encode(tb testing.TB, c *session.Codec, id string) string {
	tb.Helper()
	v, err := c.Encode(id)
	if err != nil {
		tb.Fatalf("Encode(%q): %v", id, err)
	}
	return v
}

func TestNewCodec(t *testing.T) {
	tests := []struct {
		name     string
		secret   string
		previous []string
		wantErr  error
	}{
		{name: "32 characters", secret: strings.Repeat("a", 32)},
		{name: "31 characters", secret: strings.Repeat("a", 31), wantErr: session.ErrSecretTooShort},
		{name: "empty", secret: "", wantErr: session.ErrSecretTooShort},
		{name: "32 multi-byte characters", secret: strings.Repeat("é", 32)},
		{name: "16 two-byte characters are 16 characters", secret: strings.Repeat("é", 16), wantErr: session.ErrSecretTooShort},
		{name: "with previous", secret: testSecret, previous: []string{testSecretOld, otherSecret}},
		{name: "empty previous ignored", secret: testSecret, previous: []string{"", testSecretOld, ""}},
		{name: "previous equal to current ignored", secret: testSecret, previous: []string{testSecret}},
		{name: "short previous", secret: testSecret, previous: []string{"short"}, wantErr: session.ErrSecretTooShort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := session.NewCodec(tt.secret, tt.previous...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewCodec error = %v, want %v", err, tt.wantErr)
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Errorf("error %q reveals the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCodec: %v", err)
			}
			id := "some-session-id"
			got, err := c.Decode(encode(t, c, id))
			if err != nil || got != id {
				t.Fatalf("round trip = %q, %v; want %q", got, err, id)
			}
		})
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := newCodec(t, testSecret)
	newID, err := session.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
	}{
		{name: "NewID", id: newID},
		{name: "one byte", id: "x"},
		{name: "unicode", id: "sëssion-ïd-✓"},
		{name: "binary", id: "\x00\xff\x01"},
		{name: "long", id: strings.Repeat("abc", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := encode(t, c, tt.id)
			if len(tt.id) >= 8 && strings.Contains(v, tt.id) {
				t.Errorf("cookie %q contains the id in clear", v)
			}
			for _, r := range v {
				if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", r) {
					t.Fatalf("cookie %q has non-base64url character %q", v, r)
				}
			}
			got, err := c.Decode(v)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got != tt.id {
				t.Errorf("Decode = %q, want %q", got, tt.id)
			}
		})
	}
}

func TestCodecEncodeIsRandomized(t *testing.T) {
	c := newCodec(t, testSecret)
	a, b := encode(t, c, "same-id"), encode(t, c, "same-id")
	if a == b {
		t.Fatalf("two Encodes of one id gave the same value %q", a)
	}
	for _, v := range []string{a, b} {
		if got, err := c.Decode(v); err != nil || got != "same-id" {
			t.Errorf("Decode(%q) = %q, %v", v, got, err)
		}
	}
}

func TestCodecEncodeEmptyID(t *testing.T) {
	c := newCodec(t, testSecret)
	if v, err := c.Encode(""); !errors.Is(err, session.ErrInvalid) {
		t.Fatalf("Encode(\"\") = %q, %v; want ErrInvalid", v, err)
	}
}

func TestCodecDecodeInvalid(t *testing.T) {
	c := newCodec(t, testSecret)
	valid := encode(t, c, "session-id-1234")
	raw, err := base64.RawURLEncoding.DecodeString(valid)
	if err != nil {
		t.Fatal(err)
	}
	reencode := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

	type tc struct {
		name  string
		value string
	}
	tests := []tc{
		{name: "empty", value: ""},
		{name: "garbage", value: "not a cookie at all!"},
		{name: "garbage base64url", value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{name: "padded", value: valid + "="},
		{name: "standard alphabet", value: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/"},
		{name: "trailing newline", value: valid + "\n"},
		{name: "embedded CRLF", value: valid[:8] + "\r\n" + valid[8:]},
		{name: "surrounding spaces", value: " " + valid + " "},
		{name: "quoted", value: `"` + valid + `"`},
		{name: "doubled", value: valid + valid},
		{name: "too long", value: strings.Repeat("A", 5000)},
		{name: "header only", value: reencode(raw[:13])},
		{name: "header and tag, no ciphertext", value: reencode(append(append([]byte{}, raw[:13]...), raw[len(raw)-16:]...))},
		{name: "sealed with a different secret", value: encode(t, newCodec(t, otherSecret), "session-id-1234")},
	}
	for i := range raw {
		b := append([]byte{}, raw...)
		b[i] ^= 0x01
		tests = append(tests, tc{name: fmt.Sprintf("raw byte %d flipped", i), value: reencode(b)})
	}
	for i := range valid {
		b := []byte(valid)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tests = append(tests, tc{name: fmt.Sprintf("character %d changed", i), value: string(b)})
	}
	for n := range len(valid) {
		tests = append(tests, tc{name: fmt.Sprintf("truncated to %d", n), value: valid[:n]})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Decode(tt.value)
			if !errors.Is(err, session.ErrInvalidCookie) {
				t.Fatalf("Decode = %q, %v; want ErrInvalidCookie", got, err)
			}
			if got != "" {
				t.Errorf("Decode returned id %q alongside an error", got)
			}
			if len(tt.value) >= 20 && strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q echoes the cookie value", err)
			}
		})
	}
}

func TestCodecPreviousSecret(t *testing.T) {
	old := newCodec(t, testSecretOld)
	rotated := newCodec(t, testSecret, testSecretOld)
	fresh := newCodec(t, testSecret)

	sealedOld := encode(t, old, "id-from-before")
	sealedNew := encode(t, rotated, "id-from-after")

	tests := []struct {
		name    string
		codec   *session.Codec
		value   string
		want    string
		wantErr error
	}{
		{name: "rotated codec opens old value", codec: rotated, value: sealedOld, want: "id-from-before"},
		{name: "rotated codec opens its own value", codec: rotated, value: sealedNew, want: "id-from-after"},
		{name: "current-only codec opens value sealed after rotation", codec: fresh, value: sealedNew, want: "id-from-after"},
		{name: "current-only codec rejects old value", codec: fresh, value: sealedOld, wantErr: session.ErrInvalidCookie},
		{name: "old codec rejects value sealed after rotation", codec: old, value: sealedNew, wantErr: session.ErrInvalidCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.codec.Decode(tt.value)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decode = %q, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Decode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestCodecKeyIDCollision checks that two secrets whose key ids collide both
// still work: Decode must try every key with the matching id.
func TestCodecKeyIDCollision(t *testing.T) {
	keyIDOf := func(c *session.Codec) byte {
		raw, err := base64.RawURLEncoding.DecodeString(encode(t, c, "probe"))
		if err != nil {
			t.Fatal(err)
		}
		return raw[0]
	}
	first := newCodec(t, testSecret)
	want := keyIDOf(first)
	var colliding string
	for i := 0; i < 100000 && colliding == ""; i++ {
		s := fmt.Sprintf("colliding-secret-%032d", i)
		if keyIDOf(newCodec(t, s)) == want {
			colliding = s
		}
	}
	if colliding == "" {
		t.Fatal("found no secret with a colliding key id")
	}
	// The colliding secret is current, so its key is tried first and fails
	// for values sealed with testSecret.
	both := newCodec(t, colliding, testSecret)
	for _, c := range []*session.Codec{first, newCodec(t, colliding)} {
		v := encode(t, c, "collide")
		if got, err := both.Decode(v); err != nil || got != "collide" {
			t.Errorf("Decode = %q, %v; want %q", got, err, "collide")
		}
	}
}

// fuzzIDs are the only ids FuzzCodecDecode seals. They are constants, so
// corpus entries cached by earlier runs (with other nonces) still decode to
// one of them.
var fuzzIDs = map[string]bool{
	"x":                     true,
	"session-id-1234":       true,
	"sëssion-ïd-✓":          true,
	strings.Repeat("Z", 43): true,
}

func FuzzCodecDecode(f *testing.F) {
	codec := newCodec(f, testSecret, testSecretOld)
	old := newCodec(f, testSecretOld)
	other := newCodec(f, otherSecret)

	for id := range fuzzIDs {
		v := encode(f, codec, id)
		f.Add(v)
		f.Add(encode(f, old, id))
		f.Add(encode(f, other, id))
		f.Add(v[:len(v)-1])
		f.Add(v + "A")
		f.Add(v + "\n")
		f.Add(strings.ToUpper(v))
	}
	for _, s := range []string{"", "A", "AA", "AAAA", "====", "\n", "\x00\xff", "lxc-session", strings.Repeat("_", 80), strings.Repeat("A", 5000)} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, value string) {
		id, err := codec.Decode(value)
		if err != nil {
			if !errors.Is(err, session.ErrInvalidCookie) {
				t.Fatalf("Decode error %v does not match ErrInvalidCookie", err)
			}
			if id != "" {
				t.Fatalf("Decode returned id %q alongside error %v", id, err)
			}
			return
		}
		// Only values we sealed open: a decoded id outside fuzzIDs would be
		// a forgery.
		if !fuzzIDs[id] {
			t.Fatalf("Decode(%q) = %q, which was never sealed", value, id)
		}
		if canonical := base64.RawURLEncoding.EncodeToString(mustRaw(t, value)); canonical != value {
			t.Fatalf("Decode accepted non-canonical form %q of %q", value, canonical)
		}
		again, err := codec.Decode(encode(t, codec, id))
		if err != nil || again != id {
			t.Fatalf("re-encode/decode of %q = %q, %v", id, again, err)
		}
	})
}

func mustRaw(t *testing.T, value string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		t.Fatalf("Decode accepted %q, which is not base64url: %v", value, err)
	}
	return raw
}
