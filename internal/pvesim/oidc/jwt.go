package oidc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ID tokens are compact JWS (RFC 7515) signed with RS256, the algorithm
// every OpenID provider supports and the one the openidconnect crate that
// PVE uses accepts by default. Keys are published as a JWK set (RFC 7517).

var b64 = base64.RawURLEncoding

// jwk is one RSA public key of a JWK set.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// jwkSet is a JWK set document.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// publicJWK describes key as a JWK.
func publicJWK(key *rsa.PublicKey, kid string) jwk {
	return jwk{Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: b64.EncodeToString(key.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(key.E)).Bytes())}
}

// rsaKey turns a JWK back into an RSA public key.
func (k jwk) rsaKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("key type %q is not RSA", k.Kty)
	}
	n, err := b64.DecodeString(k.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("bad modulus")
	}
	e, err := b64.DecodeString(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("bad exponent")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

// jwsHeader is the protected header of an ID token.
type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid,omitempty"`
}

// signJWT signs claims with key (RS256) under kid.
func signJWT(key *rsa.PrivateKey, kid string, claims any) (string, error) {
	head, err := json.Marshal(jwsHeader{Alg: "RS256", Typ: "JWT", Kid: kid})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(head) + "." + b64.EncodeToString(body)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign ID token: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// verifyJWT checks raw's RS256 signature against the key of keys its
// header names (or the only key) and returns its claims, numbers kept as
// json.Number.
func verifyJWT(raw string, keys []jwk) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.Alg != "RS256" {
		return nil, fmt.Errorf("signing algorithm %q is not allowed", h.Alg)
	}
	var key *jwk
	for i := range keys {
		if keys[i].Kid == h.Kid || (h.Kid == "" && len(keys) == 1) {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return nil, fmt.Errorf("no key %q in the provider's key set", h.Kid)
	}
	pub, err := key.rsaKey()
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", h.Kid, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errors.New("signature verification failed")
	}
	body, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return claims, nil
}

// pkceChallenge is the S256 code challenge of verifier (RFC 7636).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64.EncodeToString(sum[:])
}

// NewPKCE returns a fresh PKCE verifier and its S256 challenge.
func NewPKCE() (verifier, challenge string) {
	verifier = RandomToken(32)
	return verifier, pkceChallenge(verifier)
}

// RandomToken returns n random bytes, base64url-encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return b64.EncodeToString(b)
}
