package filesource

import (
	"context"
	"crypto/tls"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/test/poll"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func issue(t *testing.T, ca *pki.KeyPair, now time.Time) *pki.KeyPair {
	t.Helper()
	kp, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "w", DNSNames: []string{"w"}, Validity: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func servedSerial(t *testing.T, s *Source) *big.Int {
	t.Helper()
	tc, err := s.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		return nil
	}
	return tc.Leaf.SerialNumber
}

// writeKubeletStyle publishes a pair the way the kubelet updates a mounted
// Secret: a new timestamped folder, then an atomic swap of the ..data link.
func writeKubeletStyle(t *testing.T, dir, version string, kp *pki.KeyPair) {
	t.Helper()
	vdir := filepath.Join(dir, "..v"+version)
	if err := os.Mkdir(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": kp.CertPEM, "tls.key": kp.KeyPEM} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(vdir), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func TestReloadsOnKubeletSwap(t *testing.T) {
	ca, err := pki.NewCA("ca", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := issue(t, ca, time.Now())
	writeKubeletStyle(t, dir, "1", first)

	// A poll interval of an hour: only file events can explain a reload.
	s, err := New(Options{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	poll.Until(t, 10*time.Second, "the first pair", poll.True(func() bool { return servedSerial(t, s) != nil }))
	if servedSerial(t, s).Cmp(first.Cert.SerialNumber) != 0 || !s.Healthy() {
		t.Fatal("first pair not served")
	}

	second := issue(t, ca, time.Now())
	writeKubeletStyle(t, dir, "2", second)
	poll.Until(t, 10*time.Second, "the second pair", poll.True(func() bool { return servedSerial(t, s).Cmp(second.Cert.SerialNumber) == 0 }))
}

func TestTornWriteKeepsThePreviousPair(t *testing.T) {
	ca, err := pki.NewCA("ca", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, second := issue(t, ca, time.Now()), issue(t, ca, time.Now())
	if err := os.WriteFile(certFile, first.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, first.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	// The certificate is replaced, the key not yet.
	if err := os.WriteFile(certFile, second.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.Load()
	if err == nil || !strings.Contains(err.Error(), "certificate and key do not form a pair") || !strings.Contains(err.Error(), "keeping the previous pair") {
		t.Fatalf("torn write: got %v", err)
	}
	if servedSerial(t, s).Cmp(first.Cert.SerialNumber) != 0 {
		t.Fatal("the previous pair is no longer served after a torn write")
	}
	if err := os.WriteFile(keyFile, second.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(); err != nil || servedSerial(t, s).Cmp(second.Cert.SerialNumber) != 0 {
		t.Fatalf("completed write not served: %v", err)
	}
	if s.Reloads() != 2 {
		t.Fatalf("reloads %d, want 2", s.Reloads())
	}
}

func TestHealthyFollowsExpiry(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	ca, err := pki.NewCA("ca", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kp := issue(t, ca, t0)
	writeKubeletStyle(t, dir, "1", kp)
	s, err := New(Options{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if s.Healthy() {
		t.Fatal("healthy before loading")
	}
	if _, err := s.GetCertificate(nil); err != ErrNoCertificate {
		t.Fatalf("GetCertificate before loading: %v", err)
	}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if !s.Healthy() {
		t.Fatal("not healthy with a valid pair")
	}
	if err := s.HealthError(); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(t0.Add(time.Hour))
	if s.Healthy() {
		t.Fatal("healthy with an expired certificate")
	}
	want := "serving certificate from " + filepath.Join(dir, "tls.crt") + " is outside its validity 2026-03-01T12:00:00Z..2026-03-01T13:00:00Z; renew it (cert-manager Certificate) and check the mount"
	if err := s.HealthError(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestNewRefusesMissingFiles(t *testing.T) {
	_, err := New(Options{CertFile: "/etc/railnet/tls.crt"})
	if err == nil || err.Error() != `certificate files: both a certificate file and a key file are required (got "/etc/railnet/tls.crt" and "")` {
		t.Fatalf("got %v", err)
	}
	s, err := New(Options{CertFile: "/nonexistent/tls.crt", KeyFile: "/nonexistent/tls.key"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(); err == nil || !strings.Contains(err.Error(), "read certificate: open /nonexistent/tls.crt") {
		t.Fatalf("got %v", err)
	}
}

// With CAFile the source also follows the mounted CA bundle: Bundle is its
// content, Subscribe fires on a change, and a bundle that does not parse is
// refused while the previous one stays.
func TestCABundleFollowsTheFile(t *testing.T) {
	dir := t.TempDir()
	crt, key, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	write := func(ca, leaf *pki.KeyPair) {
		t.Helper()
		for name, data := range map[string][]byte{crt: leaf.CertPEM, key: leaf.KeyPEM, caFile: ca.CertPEM} {
			if err := os.WriteFile(name, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	ca1, err := pki.NewCA("ca1", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := pki.NewCA("ca2", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write(ca1, issue(t, ca1, t0))
	s, err := New(Options{CertFile: crt, KeyFile: key, CAFile: caFile, Clock: clocktesting.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	changed := s.Subscribe()
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if string(s.Bundle()) != string(ca1.CertPEM) {
		t.Fatal("bundle is not ca.crt after the first load")
	}
	select {
	case <-changed:
	default:
		t.Fatal("no change reported for the first bundle")
	}

	write(ca2, issue(t, ca2, t0))
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	if string(s.Bundle()) != string(ca2.CertPEM) {
		t.Fatal("bundle did not follow ca.crt")
	}
	select {
	case <-changed:
	default:
		t.Fatal("no change reported for the new bundle")
	}
	if err := s.Load(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("a load without a change reported one")
	default:
	}

	if err := os.WriteFile(caFile, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.Load()
	if err == nil || !strings.Contains(err.Error(), "CA bundle "+caFile+": no PEM certificate found; keeping the previous one") {
		t.Fatalf("broken ca.crt: %v", err)
	}
	if string(s.Bundle()) != string(ca2.CertPEM) {
		t.Fatal("a broken ca.crt replaced the bundle")
	}
}
