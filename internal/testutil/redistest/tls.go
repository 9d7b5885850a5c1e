package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TLSServer is a redis-server of the test's own that also listens with
// TLS, on a certificate of a CA made for the test.
type TLSServer struct {
	*Server
	// TLSURL is the rediss:// URL of the TLS port.
	TLSURL string
	// TLSAddr is the TLS port's host:port.
	TLSAddr string
	// Config trusts the test's CA (give it as session.RedisOptions.TLS).
	Config *tls.Config
}

// StartTLS starts a redis-server with a TLS port next to its plain one (the
// plain one serves the harness's readiness check and assertions).
func StartTLS(t testing.TB) *TLSServer {
	t.Helper()
	dir := t.TempDir()
	pool, certFile, keyFile, caFile := makeCerts(t, dir)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	srv := startOwn(t, []string{
		"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no",
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return &TLSServer{Server: srv, TLSAddr: addr, TLSURL: "rediss://" + addr + "/0",
		Config: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
}

// makeCerts writes a CA and a server certificate for 127.0.0.1 into dir.
func makeCerts(t testing.TB, dir string) (pool *x509.CertPool, certFile, keyFile, caFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(fmt.Errorf("redistest: write %s: %w", name, err))
		}
		return p
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return pool, write("server.pem", "CERTIFICATE", der), write("server.key", "EC PRIVATE KEY", keyDER), write("ca.pem", "CERTIFICATE", caDER)
}
