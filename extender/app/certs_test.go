package app

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCert(t *testing.T, dir, cn string, mtime time.Time) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cf, kf := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for f, b := range map[string][]byte{
		cf: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		kf: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return cf, kf
}

func TestCertSourceReloads(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Minute)
	cf, kf := writeCert(t, dir, "one.example", base)
	s := &certSource{certFile: cf, keyFile: kf}
	c1, err := s.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.healthy() != nil {
		t.Fatal(s.healthy())
	}
	writeCert(t, dir, "two.example", base.Add(time.Second))
	c2, err := s.get(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("rotated certificate not picked up")
	}
	// A broken file keeps the last good certificate and makes /healthz fail.
	if err := os.WriteFile(cf, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	c3, err := s.get(nil)
	if err != nil || !bytes.Equal(c3.Certificate[0], c2.Certificate[0]) {
		t.Fatalf("after a bad rotation: %v", err)
	}
	if err := s.healthy(); err == nil || !strings.Contains(err.Error(), "load serving certificate "+cf) {
		t.Fatalf("healthy() = %v", err)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no address to serve on"},
		{Config{HTTPSAddr: ":0"}, "HTTPS needs --tls-cert-file and --tls-key-file"},
		{Config{HTTPSAddr: ":0", CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"}, "load serving certificate /nonexistent.crt"},
	} {
		err := Run(t.Context(), nil, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
