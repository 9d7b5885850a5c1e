package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The relying party: what PVE's proxmox-openid crate does with a provider
// (discovery on every call, the authorization URL with PKCE and a nonce,
// the code exchange, the ID token's checks, userinfo).

// RP talks to providers over HTTP.
type RP struct {
	HTTP *http.Client
}

// Metadata is a discovered provider: its endpoints and signing keys.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	keys                  []jwk
}

// maxBody bounds what is read from a provider.
const maxBody = 1 << 20

// getJSON fetches url and decodes its JSON answer into v.
func (rp RP) getJSON(ctx context.Context, req *http.Request, v any) error {
	resp, err := rp.HTTP.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var oe oauthError
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			return fmt.Errorf("server returned error: %s (%s)", oe.Error, oe.Description)
		}
		return fmt.Errorf("server returned HTTP status %d", resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("failed to parse server response: %w", err)
	}
	return nil
}

// Discover reads issuer's discovery document and key set. The document's
// issuer must equal issuer exactly.
func (rp RP) Discover(ctx context.Context, issuer string) (*Metadata, error) {
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to discover provider metadata: %w", err)
	}
	var md Metadata
	if err := rp.getJSON(ctx, req, &md); err != nil {
		return nil, fmt.Errorf("failed to discover provider metadata: %w", err)
	}
	if md.Issuer != issuer {
		return nil, fmt.Errorf("failed to discover provider metadata: unexpected issuer URI `%s` (expected `%s`)", md.Issuer, issuer)
	}
	if md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" || md.JWKSURI == "" {
		return nil, errors.New("failed to discover provider metadata: endpoints missing")
	}
	req, err = http.NewRequest(http.MethodGet, md.JWKSURI, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch JWK set: %w", err)
	}
	var set jwkSet
	if err := rp.getJSON(ctx, req, &set); err != nil {
		return nil, fmt.Errorf("failed to fetch JWK set: %w", err)
	}
	md.keys = set.Keys
	return &md, nil
}

// AuthRequest is what an authorization URL carries.
type AuthRequest struct {
	ClientID, RedirectURI, State, Nonce, CodeChallenge string
	Scopes                                             []string // after "openid"
	Prompt                                             string
	ACRValues                                          []string
}

// AuthorizeURL builds the URL the browser is sent to: response_type=code,
// the client, state, redirect_uri, scope "openid ..." , nonce,
// display=page and the S256 PKCE challenge, plus prompt and acr_values
// when configured.
func (md *Metadata) AuthorizeURL(a AuthRequest) (string, error) {
	u, err := url.Parse(md.AuthorizationEndpoint)
	if err != nil {
		return "", fmt.Errorf("authorization endpoint: %w", err)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", a.ClientID)
	q.Set("state", a.State)
	q.Set("code_challenge", a.CodeChallenge)
	q.Set("code_challenge_method", "S256")
	q.Set("redirect_uri", a.RedirectURI)
	q.Set("scope", strings.Join(append([]string{"openid"}, a.Scopes...), " "))
	q.Set("nonce", a.Nonce)
	q.Set("display", "page")
	if a.Prompt != "" {
		q.Set("prompt", a.Prompt)
	}
	if len(a.ACRValues) > 0 {
		q.Set("acr_values", strings.Join(a.ACRValues, " "))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Tokens is a token endpoint's answer.
type Tokens struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	IDToken     string `json:"id_token"`
}

// Exchange redeems code at the token endpoint, authenticating with the
// client secret (HTTP Basic) or, without one, as a public client.
func (rp RP) Exchange(ctx context.Context, md *Metadata, clientID, secret, code, redirectURI, verifier string) (Tokens, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}}
	if secret == "" {
		form.Set("client_id", clientID)
	}
	req, err := http.NewRequest(http.MethodPost, md.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Tokens{}, fmt.Errorf("failed to contact token endpoint: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	var t Tokens
	if err := rp.getJSON(ctx, req, &t); err != nil {
		return Tokens{}, fmt.Errorf("failed to contact token endpoint: %w", err)
	}
	if t.IDToken == "" {
		return Tokens{}, errors.New("failed to contact token endpoint: the answer has no ID token")
	}
	return t, nil
}

// VerifyIDToken checks an ID token: its signature with the provider's
// keys, issuer, audience (the client or one of audiences), expiry and
// nonce. It returns the claims.
func (md *Metadata) VerifyIDToken(raw, clientID string, audiences []string, nonce string, now time.Time) (map[string]any, error) {
	fail := func(format string, a ...any) (map[string]any, error) {
		return nil, fmt.Errorf("failed to verify ID token: "+format, a...)
	}
	claims, err := verifyJWT(raw, md.keys)
	if err != nil {
		return fail("%w", err)
	}
	if iss, _ := claims["iss"].(string); iss != md.Issuer {
		return fail("unexpected issuer %q", iss)
	}
	allowed := append([]string{clientID}, audiences...)
	var aud []string
	switch v := claims["aud"].(type) {
	case string:
		aud = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				aud = append(aud, s)
			}
		}
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(allowed, a) }) {
		return fail("invalid audiences: %v", aud)
	}
	exp, ok := claims["exp"].(json.Number)
	secs, err := exp.Int64()
	if !ok || err != nil {
		return fail("no expiry")
	}
	if now.Unix() >= secs {
		return fail("ID token expired")
	}
	if got, _ := claims["nonce"].(string); got != nonce || nonce == "" {
		return fail("nonce mismatch")
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return fail("no subject")
	}
	return claims, nil
}

// UserInfo asks the userinfo endpoint with the access token; its subject
// must be the ID token's.
func (rp RP) UserInfo(ctx context.Context, md *Metadata, accessToken, subject string) (map[string]any, error) {
	if md.UserinfoEndpoint == "" {
		return nil, errors.New("failed to contact userinfo endpoint: the provider has none")
	}
	req, err := http.NewRequest(http.MethodGet, md.UserinfoEndpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to contact userinfo endpoint: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	var info map[string]any
	if err := rp.getJSON(ctx, req, &info); err != nil {
		return nil, fmt.Errorf("failed to contact userinfo endpoint: %w", err)
	}
	if sub, _ := info["sub"].(string); sub != subject {
		return nil, errors.New("failed to contact userinfo endpoint: subject mismatch")
	}
	return info, nil
}
