package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a throwaway CA and a server certificate it signed for
// 127.0.0.1, as PEM files in a temporary directory.
type testPKI struct {
	CAFile, CertFile, KeyFile string
	CAPool                    *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mlopsd test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return testPKI{
		CAFile:   write("ca.pem", "CERTIFICATE", caDER),
		CertFile: write("server.pem", "CERTIFICATE", srvDER),
		KeyFile:  write("server-key.pem", "PRIVATE KEY", keyDER),
		CAPool:   pool,
	}
}

func TestRun_TLS(t *testing.T) {
	clearEnv(t)
	pki := newTestPKI(t)
	p := startRun(t, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "mlops.db"), "-tls-cert", pki.CertFile, "-tls-key", pki.KeyFile)
	if !strings.HasPrefix(p.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %q, want https://127.0.0.1:...", p.URL)
	}
	if !strings.Contains(p.stderr.String(), "url="+p.URL) {
		t.Errorf("the log does not name the https URL %s:\n%s", p.URL, p.stderr)
	}
	get := func(c *http.Client) error {
		resp, err := c.Get(p.URL + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/readyz = %d", resp.StatusCode)
		}
		return nil
	}
	trusting := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki.CAPool, MinVersion: tls.VersionTLS12},
	}}
	if err := get(trusting); err != nil {
		t.Errorf("client trusting the CA: %v", err)
	}
	plain := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	if err := get(plain); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("client without the CA: %v, want a certificate error", err)
	}
	old := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki.CAPool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, //nolint:gosec // proves the server refuses old TLS
	}}
	if err := get(old); err == nil {
		t.Error("a TLS 1.1 client was served; want TLS 1.2 at least")
	}
}

func TestParseFlags_TLS(t *testing.T) {
	clearEnv(t)
	pki := newTestPKI(t)
	t.Run("FromEnvironment", func(t *testing.T) {
		t.Setenv("MLOPSD_TLS_CERT", pki.CertFile)
		t.Setenv("MLOPSD_TLS_KEY", pki.KeyFile)
		var m Main
		if err := m.ParseFlags(nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		if m.Config.TLSCertFile != pki.CertFile || m.Config.TLSKeyFile != pki.KeyFile {
			t.Errorf("config = %+v", m.Config)
		}
	})
	for name, args := range map[string][]string{
		"CertOnly": {"-tls-cert", pki.CertFile},
		"KeyOnly":  {"-tls-key", pki.KeyFile},
	} {
		t.Run(name, func(t *testing.T) {
			var m Main
			err := m.ParseFlags(args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "-tls-cert and -tls-key") {
				t.Errorf("ParseFlags(%q) = %v, want both-or-neither error", args, err)
			}
		})
	}
	t.Run("BadKey", func(t *testing.T) {
		err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "mlops.db"), "-tls-cert", pki.CertFile, "-tls-key", pki.CAFile}, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "TLS certificate") {
			t.Errorf("run with a bad key = %v, want a TLS certificate error", err)
		}
	})
}
