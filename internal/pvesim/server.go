package pvesim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/pvesim/oidc"
)

// Server serves a Sim over HTTPS with a fresh self-signed certificate
// (SANs 127.0.0.1, ::1, localhost), like PVE on 8006.
type Server struct {
	Sim         *Sim
	URL         string // "https://127.0.0.1:PORT"
	Addr        string // "127.0.0.1:PORT"
	Fingerprint string // SHA-256 of the leaf certificate DER, upper-case hex pairs joined by ':' (as PVE shows it)
	CertPEM     []byte // the certificate, so a client can trust it as a CA file
	// OpenID is the simulator's own OpenID provider (openid_provider.go),
	// nil when no realm uses it.
	OpenID *oidc.Server

	srv *http.Server
	ln  net.Listener
}

// Start listens on addr (like "127.0.0.1:0") and serves sim over HTTPS in
// the background. It returns once the listener is open.
//
// Like pveproxy it speaks HTTP/1.1 only (no HTTP/2, which also keeps the
// connection hijackable for custom reason phrases) and closes idle
// keep-alive connections after 5 seconds. The served certificate's
// fingerprint becomes the first node's ssl_fingerprint in GET /nodes.
func Start(addr string, sim *Sim) (*Server, error) {
	if sim == nil {
		return nil, errors.New("pvesim: Start needs a Sim")
	}
	certPEM, cert, err := selfSignedCert(sim.localNode().Name)
	if err != nil {
		return nil, err
	}
	fp := sha256.Sum256(cert.Certificate[0])
	fingerprint := formatFingerprint(fp[:])

	provider, err := sim.startProvider()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if provider != nil {
			_ = provider.Close()
		}
		return nil, fmt.Errorf("pvesim: listen %s: %w", addr, err)
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
	srv := &http.Server{
		Handler:           sim,
		TLSConfig:         tlsCfg,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // no HTTP/2
		IdleTimeout:       5 * time.Second,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	sim.setLocalFingerprint(fingerprint)
	go func() {
		if err := srv.Serve(tls.NewListener(ln, tlsCfg)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sim.log.Error("pvesim: server stopped", "err", err)
		}
	}()
	a := ln.Addr().String()
	return &Server{
		Sim:         sim,
		URL:         "https://" + a,
		Addr:        a,
		Fingerprint: fingerprint,
		CertPEM:     certPEM,
		OpenID:      provider,
		srv:         srv,
		ln:          ln,
	}, nil
}

// Close stops listening and closes all connections; a client then gets
// "connection refused".
func (s *Server) Close() error {
	s.Sim.con.sessions.Close()
	if s.OpenID != nil {
		_ = s.OpenID.Close()
	}
	return s.srv.Close()
}

// selfSignedCert makes an RSA-2048 certificate for the node, valid for
// 127.0.0.1, ::1 and localhost (and the node name), usable as its own CA.
func selfSignedCert(nodeName string) ([]byte, tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("pvesim: generate TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("pvesim: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         nodeName + ".lab",
			Organization:       []string{"PVE Cluster Node"},
			OrganizationalUnit: []string{"PVE Cluster Node"},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost", nodeName},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("pvesim: create certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("pvesim: key pair: %w", err)
	}
	return certPEM, cert, nil
}
