package pvesim

import (
	"fmt"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/access"
	"github.com/lxc-manager/lxc-manager/internal/pvesim/oidc"
)

// The simulator's own OpenID provider: OpenID realms given without an
// issuer URL (the default realm sso) sign in through it. Start serves it
// on a loopback port of its own, over plain HTTP, named "localhost" (so a
// browser treats it as another site than a dashboard on 127.0.0.1), and
// writes its URL into those realms. Each such realm is a client there,
// with its client id and key; redirect URIs are registered by whoever
// runs a client (RegisterRedirectURI), as an administrator would in the
// provider's console.

// ProviderUser is an account at the simulator's OpenID provider.
type ProviderUser = oidc.User

// openidHTTPTimeout bounds each call PVE makes to a provider.
const openidHTTPTimeout = 10 * time.Second

// providerHost names the provider in its URLs.
const providerHost = "localhost"

// DefaultProviderUsers returns the provider's accounts: dana (password
// "dana-pass"; dana@sso exists in the named scenarios) and frank
// ("frank-pass"; frank@sso exists nowhere and is created at his first
// sign-in, with no privileges).
func DefaultProviderUsers() []ProviderUser {
	return []ProviderUser{
		{Username: "dana", Password: "dana-pass", Subject: "6f1d2c3b-5a4e-4f60-9b7a-d0a0a0000001",
			Email: "dana@example.com", GivenName: "Dana", FamilyName: "Reyes"},
		{Username: "frank", Password: "frank-pass", Subject: "6f1d2c3b-5a4e-4f60-9b7a-f0a0a0000002",
			Email: "frank@example.com", GivenName: "Frank", FamilyName: "Osei"},
	}
}

// startProvider serves the provider when an OpenID realm needs it and
// names it in those realms; nil when none does.
func (s *Sim) startProvider() (*oidc.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var own []access.RealmEntry
	var clients []oidc.Client
	for _, r := range s.dir.Realms() {
		if r.Type == "openid" && r.OpenID.IssuerURL == "" {
			own = append(own, r)
			clients = append(clients, oidc.Client{ID: r.OpenID.ClientID, Secret: r.OpenID.ClientKey})
		}
	}
	if len(own) == 0 {
		return nil, nil
	}
	srv, err := oidc.Start("127.0.0.1:0", providerHost, oidc.Options{Clients: clients, Users: s.providerUsers,
		Now: s.now, Logger: s.log.With("component", "oidc")})
	if err != nil {
		return nil, fmt.Errorf("pvesim: OpenID provider: %w", err)
	}
	for _, r := range own {
		cfg := *r.OpenID
		cfg.IssuerURL = srv.URL
		if err := s.dir.SetOpenID(r.Name, cfg); err != nil {
			_ = srv.Close()
			return nil, fmt.Errorf("pvesim: %w", err)
		}
	}
	return srv, nil
}

// RegisterRedirectURI allows uri as a redirect URI of every client at
// the simulator's provider (a dashboard's callback, say
// "http://127.0.0.1:3001/login/openid"). Without a provider it does
// nothing.
func (srv *Server) RegisterRedirectURI(uri string) {
	if srv.OpenID == nil {
		return
	}
	for _, id := range srv.OpenID.ClientIDs() {
		_ = srv.OpenID.AddRedirectURI(id, uri) // the id was just listed
	}
}
