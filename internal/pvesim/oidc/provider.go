// Package oidc is the simulator's OpenID Connect side: a small identity
// provider standing in for Keycloak, Authentik or Entra ID in tests and
// the demo (discovery, an authorization page with a sign-in form, a token
// endpoint with PKCE, RS256-signed ID tokens and their key set, userinfo),
// and the relying party PVE itself is towards such a provider
// (proxmox-openid: discovery, the authorization URL, the code exchange and
// the ID token's checks).
//
// The provider is as strict as real ones where it matters to a client:
// the redirect URI must equal a registered one exactly (otherwise an
// error page, never a redirect), codes are single-use and expire, the
// code exchange repeats the redirect URI and proves PKCE, clients
// authenticate. It keeps no sign-in session of its own: every
// authorization asks for the password again (prompt=none answers
// login_required).
package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client is a relying party registered at the provider.
type Client struct {
	ID     string
	Secret string // "" a public client (no client authentication)
	// RedirectURIs are compared with the request's redirect_uri exactly.
	RedirectURIs []string
}

// User is an account at the provider.
type User struct {
	Username   string // typed on the sign-in page; preferred_username
	Password   string
	Subject    string // sub: stable and opaque
	Email      string
	GivenName  string
	FamilyName string
}

// Options configure a Provider.
type Options struct {
	// Issuer is the provider's URL, its "iss" (no trailing slash).
	Issuer  string
	Clients []Client
	Users   []User
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// CodeTTL is an authorization code's lifetime (60 s, as Keycloak).
	CodeTTL time.Duration
	// TokenTTL is the lifetime of ID and access tokens (5 minutes).
	TokenTTL time.Duration
}

// grant is one authorization: the code, and later the access token that
// the code bought.
type grant struct {
	client, redirectURI string
	user                User
	scopes              []string
	nonce               string
	challenge, method   string
	authTime            time.Time
	expires             time.Time
	used                bool
	accessToken         string
	tokenExpires        time.Time
}

// Provider is the identity provider, an http.Handler. It is safe for
// concurrent use.
type Provider struct {
	issuer   string
	now      func() time.Time
	log      *slog.Logger
	codeTTL  time.Duration
	tokenTTL time.Duration
	mux      *http.ServeMux

	keyOnce sync.Once
	key     *rsa.PrivateKey
	keyErr  error
	kid     string

	mu      sync.Mutex
	clients map[string]*Client
	users   []User
	codes   map[string]*grant
	tokens  map[string]*grant // access token -> grant

	calls sync.Map // endpoint name -> *atomic.Int64
}

// New builds a provider.
func New(opts Options) (*Provider, error) {
	if opts.Issuer == "" || strings.HasSuffix(opts.Issuer, "/") {
		return nil, fmt.Errorf("oidc: issuer %q must be a URL without a trailing slash", opts.Issuer)
	}
	p := &Provider{issuer: opts.Issuer, now: opts.Now, log: opts.Logger, codeTTL: opts.CodeTTL, tokenTTL: opts.TokenTTL,
		clients: map[string]*Client{}, codes: map[string]*grant{}, tokens: map[string]*grant{}}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.codeTTL <= 0 {
		p.codeTTL = time.Minute
	}
	if p.tokenTTL <= 0 {
		p.tokenTTL = 5 * time.Minute
	}
	for _, c := range opts.Clients {
		if err := p.AddClient(c); err != nil {
			return nil, err
		}
	}
	for _, u := range opts.Users {
		if err := p.SetUser(u); err != nil {
			return nil, err
		}
	}
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /.well-known/openid-configuration", p.counted("discovery", p.discovery))
	p.mux.HandleFunc("GET /jwks", p.counted("jwks", p.jwks))
	p.mux.HandleFunc("GET /authorize", p.counted("authorize", p.authorize))
	p.mux.HandleFunc("POST /authorize", p.counted("authorize", p.authorize))
	p.mux.HandleFunc("POST /token", p.counted("token", p.token))
	p.mux.HandleFunc("GET /userinfo", p.counted("userinfo", p.userinfo))
	p.mux.HandleFunc("POST /userinfo", p.counted("userinfo", p.userinfo))
	return p, nil
}

// Issuer is the provider's URL.
func (p *Provider) Issuer() string { return p.issuer }

// ServeHTTP serves the provider's endpoints.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mux.ServeHTTP(w, r)
}

// counted counts the requests of one endpoint (Calls).
func (p *Provider) counted(name string, h http.HandlerFunc) http.HandlerFunc {
	v, _ := p.calls.LoadOrStore(name, new(atomic.Int64))
	n := v.(*atomic.Int64)
	return func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}
}

// Calls returns how many requests reached an endpoint: "discovery",
// "jwks", "authorize", "token" or "userinfo".
func (p *Provider) Calls(endpoint string) int64 {
	if v, ok := p.calls.Load(endpoint); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// AddClient registers (or replaces) a client.
func (p *Provider) AddClient(c Client) error {
	if c.ID == "" {
		return fmt.Errorf("oidc: a client needs an id")
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[c.ID] = &c
	return nil
}

// AddRedirectURI registers one more redirect URI for a client, as an
// administrator does in the provider's console.
func (p *Provider) AddRedirectURI(clientID, uri string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.clients[clientID]
	if !ok {
		return fmt.Errorf("oidc: no client %q", clientID)
	}
	if !slices.Contains(c.RedirectURIs, uri) {
		c.RedirectURIs = append(c.RedirectURIs, uri)
	}
	return nil
}

// ClientIDs returns the registered clients' ids.
func (p *Provider) ClientIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.clients))
	for id := range p.clients {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// SetUser adds a user or replaces the one with the same user name.
func (p *Provider) SetUser(u User) error {
	if u.Username == "" || u.Password == "" || u.Subject == "" {
		return fmt.Errorf("oidc: user %q needs a user name, a password and a subject", u.Username)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.users {
		if p.users[i].Username == u.Username {
			p.users[i] = u
			return nil
		}
	}
	p.users = append(p.users, u)
	return nil
}

// Users returns the provider's users.
func (p *Provider) Users() []User {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.users)
}

// signingKey makes the RSA key on first use, so a simulator that never
// signs anybody in does not pay for it.
func (p *Provider) signingKey() (*rsa.PrivateKey, string, error) {
	p.keyOnce.Do(func() {
		p.key, p.keyErr = rsa.GenerateKey(rand.Reader, 2048)
		p.kid = RandomToken(8)
	})
	return p.key, p.kid, p.keyErr
}

// metadata is the discovery document (OpenID Connect Discovery 1.0).
type metadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	ResponseTypes            []string `json:"response_types_supported"`
	SubjectTypes             []string `json:"subject_types_supported"`
	SigningAlgs              []string `json:"id_token_signing_alg_values_supported"`
	Scopes                   []string `json:"scopes_supported"`
	TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	Claims                   []string `json:"claims_supported"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported"`
	GrantTypes               []string `json:"grant_types_supported"`
	ResponseModes            []string `json:"response_modes_supported"`
	PromptValues             []string `json:"prompt_values_supported"`
	AuthorizationResponseIss bool     `json:"authorization_response_iss_parameter_supported"`
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, metadata{
		Issuer:                p.issuer,
		AuthorizationEndpoint: p.issuer + "/authorize",
		TokenEndpoint:         p.issuer + "/token",
		UserinfoEndpoint:      p.issuer + "/userinfo",
		JWKSURI:               p.issuer + "/jwks",
		ResponseTypes:         []string{"code"},
		SubjectTypes:          []string{"public"},
		SigningAlgs:           []string{"RS256"},
		Scopes:                []string{"openid", "profile", "email"},
		TokenAuthMethods:      []string{"client_secret_basic", "client_secret_post", "none"},
		Claims: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username",
			"name", "given_name", "family_name", "email", "email_verified"},
		CodeChallengeMethods: []string{"S256", "plain"},
		GrantTypes:           []string{"authorization_code"},
		ResponseModes:        []string{"query"},
		PromptValues:         []string{"none", "login", "consent", "select_account"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	key, kid, err := p.signingKey()
	if err != nil {
		p.log.Error("oidc: signing key", "err", err)
		writeJSON(w, http.StatusInternalServerError, oauthError{Error: "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, jwkSet{Keys: []jwk{publicJWK(&key.PublicKey, kid)}})
}
