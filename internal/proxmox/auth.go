package proxmox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
)

// ticketAnswer is the data of POST /access/ticket.
type ticketAnswer struct {
	Username  string `json:"username"`
	Ticket    string `json:"ticket"`
	CSRFToken string `json:"CSRFPreventionToken"`
	NeedTFA   Num    `json:"NeedTFA"`
}

// Login signs in with a user name, realm and password and returns the
// identity to use on later calls. PVE answers every refusal with the same
// 401, so a wrong password, an unknown user and an unknown realm all give an
// error whose code is lxc.ECredentials.
func (c *Client) Login(ctx context.Context, cred lxc.Credentials) (lxc.Identity, error) {
	form := url.Values{}
	// The realm parameter would be appended to a name that already has
	// one, so the full userid goes into username and realm is not sent.
	form.Set("username", cred.UserID())
	form.Set("password", cred.Password)
	return c.ticket(ctx, form)
}

// Renew exchanges a still-valid ticket for a new one (PVE accepts the ticket
// as the password). It is not retried.
func (c *Client) Renew(ctx context.Context, id lxc.Identity) (lxc.Identity, error) {
	form := url.Values{}
	form.Set("username", id.Username)
	form.Set("password", id.Ticket)
	return c.ticket(ctx, form)
}

func (c *Client) ticket(ctx context.Context, form url.Values) (lxc.Identity, error) {
	var ans ticketAnswer
	err := c.do(ctx, request{method: http.MethodPost, path: "/access/ticket", form: form, timeout: c.loginTimeout}, &ans)
	var pe *Error
	if errors.As(err, &pe) && pe.Status == http.StatusUnauthorized {
		pe.Kind = lxc.ECredentials
	}
	if err != nil {
		return lxc.Identity{}, err
	}
	if ans.NeedTFA.Bool() {
		ch, err := parseChallenge(ans.Username, ans.Ticket)
		if err != nil {
			return lxc.Identity{}, &Error{Op: "POST /access/ticket", Kind: lxc.EInternal, Status: http.StatusOK, Err: err}
		}
		return lxc.Identity{}, &lxc.SecondFactorError{Challenge: ch}
	}
	if ans.Ticket == "" || ans.CSRFToken == "" || ans.Username == "" {
		return lxc.Identity{}, &Error{Op: "POST /access/ticket", Kind: lxc.EInternal, Status: http.StatusOK, Err: errors.New("answer lacks ticket, CSRF token or username")}
	}
	return lxc.Identity{Username: ans.Username, Ticket: ans.Ticket, CSRFToken: ans.CSRFToken}, nil
}

// Realms returns the sign-in realms PVE offers (GET /access/domains, which
// needs no sign-in), in PVE's order.
func (c *Client) Realms(ctx context.Context) ([]lxc.Realm, error) {
	var raw []struct {
		Realm   string `json:"realm"`
		Type    string `json:"type"`
		Comment string `json:"comment"`
		Default Num    `json:"default"`
		TFA     string `json:"tfa"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/access/domains"}, &raw); err != nil {
		return nil, err
	}
	out := make([]lxc.Realm, 0, len(raw))
	for _, r := range raw {
		out = append(out, lxc.Realm{Name: r.Realm, Type: r.Type, Comment: r.Comment, Default: r.Default.Bool(), TFA: r.TFA})
	}
	return out, nil
}

// tfaPrefix starts a partial ticket: PVE:!tfa!<challenge JSON>:<HEX>::<sig>,
// with ':' in the JSON written as %3A.
const tfaPrefix = "PVE:!tfa!"

// parseChallenge reads the second factors PVE offers from a partial ticket.
func parseChallenge(username, ticket string) (lxc.TFAChallenge, error) {
	rest, ok := strings.CutPrefix(ticket, tfaPrefix)
	if !ok {
		return lxc.TFAChallenge{}, errors.New("NeedTFA without a partial ticket")
	}
	enc, _, ok := strings.Cut(rest, ":")
	if !ok {
		return lxc.TFAChallenge{}, errors.New("partial ticket without a challenge")
	}
	raw, err := url.PathUnescape(enc)
	if err != nil {
		return lxc.TFAChallenge{}, fmt.Errorf("partial ticket challenge: %w", err)
	}
	var ch struct {
		TOTP     bool            `json:"totp"`
		Recovery []int           `json:"recovery"`
		WebAuthn json.RawMessage `json:"webauthn"`
		U2F      json.RawMessage `json:"u2f"`
		Yubico   bool            `json:"yubico"`
	}
	if err := json.Unmarshal([]byte(raw), &ch); err != nil {
		return lxc.TFAChallenge{}, fmt.Errorf("partial ticket challenge: %w", err)
	}
	return lxc.TFAChallenge{
		Username: username,
		Ticket:   ticket,
		TOTP:     ch.TOTP,
		Recovery: ch.Recovery,
		WebAuthn: len(ch.WebAuthn) > 0 && string(ch.WebAuthn) != "null" || len(ch.U2F) > 0 && string(ch.U2F) != "null",
		Yubico:   ch.Yubico,
	}, nil
}

// CompleteTFA answers a second-factor challenge: response is PVE's typed
// answer ("totp:123456" or "recovery:xxxx-xxxx-xxxx-xxxx"). A wrong answer
// gives an error whose code is lxc.ECredentials; the challenge may be
// answered again while it is valid.
func (c *Client) CompleteTFA(ctx context.Context, ch lxc.TFAChallenge, response string) (lxc.Identity, error) {
	form := url.Values{}
	form.Set("username", ch.Username)
	form.Set("tfa-challenge", ch.Ticket)
	form.Set("password", response)
	return c.ticket(ctx, form)
}

// OpenIDAuthURL asks PVE for the authorization URL of an OpenID realm
// (POST /access/openid/auth-url, which needs no sign-in). redirectURL is
// where the provider sends the browser back; PVE passes it on without
// checking it, and the provider compares it with its registered ones.
// PVE's refusals (an unknown realm, not an OpenID realm, a provider it
// cannot reach, too many pending sign-ins) are 500s, classified
// lxc.ERefused. Never retried: each call stores a pending sign-in at PVE.
func (c *Client) OpenIDAuthURL(ctx context.Context, realm, redirectURL string) (string, error) {
	form := url.Values{}
	form.Set("realm", realm)
	form.Set("redirect-url", redirectURL)
	var u string
	if err := c.do(ctx, request{method: http.MethodPost, path: "/access/openid/auth-url", form: form, timeout: c.loginTimeout}, &u); err != nil {
		return "", err
	}
	if u == "" {
		return "", &Error{Op: "POST /access/openid/auth-url", Kind: lxc.EInternal, Status: http.StatusOK, Err: errors.New("answer has no URL")}
	}
	return u, nil
}

// OpenIDLogin completes an OpenID sign-in with the state and code the
// provider sent the browser back with (POST /access/openid/login) and
// returns the identity, as Login does; redirectURL must be the one given
// to OpenIDAuthURL. PVE answers every failure with the same 401, whose
// code is lxc.ECredentials; it spends the state on the first try, so a
// failed sign-in must start again. Never retried; never a second factor.
func (c *Client) OpenIDLogin(ctx context.Context, state, code, redirectURL string) (lxc.Identity, error) {
	form := url.Values{}
	form.Set("state", state)
	form.Set("code", code)
	form.Set("redirect-url", redirectURL)
	var ans ticketAnswer
	err := c.do(ctx, request{method: http.MethodPost, path: "/access/openid/login", form: form, timeout: c.loginTimeout}, &ans)
	var pe *Error
	if errors.As(err, &pe) && pe.Status == http.StatusUnauthorized {
		pe.Kind = lxc.ECredentials
	}
	if err != nil {
		return lxc.Identity{}, err
	}
	if ans.Ticket == "" || ans.CSRFToken == "" || ans.Username == "" || ans.NeedTFA.Bool() {
		return lxc.Identity{}, &Error{Op: "POST /access/openid/login", Kind: lxc.EInternal, Status: http.StatusOK,
			Err: errors.New("answer lacks ticket, CSRF token or username")}
	}
	return lxc.Identity{Username: ans.Username, Ticket: ans.Ticket, CSRFToken: ans.CSRFToken}, nil
}
