package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/railnet/railnet/certs/filesource"
	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/metrics"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with common
// name cn and returns its pool.
func writeCert(t testing.TB, dir, cn string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// Write to temp names and rename so a reader never sees half a pair.
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

type noStore struct{ admission.Store }

func newSource(t testing.TB, dir string) *filesource.Source {
	t.Helper()
	src, err := filesource.New(filesource.Options{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Load(); err != nil {
		t.Fatal(err)
	}
	return src
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeCert(t, dir, "first")
	certs := newSource(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var ready atomic.Pointer[error]
	notSynced := errors.New("caches not synced")
	ready.Store(&notSynced)
	m := metrics.New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, Options{Handler: &admission.Handler{Store: noStore{}, Metrics: m}, Metrics: m, Certs: certs,
			Ready: func() error { return *ready.Load() }})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	base := "https://" + l.Addr().String()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || body != "caches not synced\n" {
		t.Errorf("/readyz before sync = %d %q", code, body)
	}
	var synced error
	ready.Store(&synced)
	if code, body := get("/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz after sync = %d %q", code, body)
	}
	// A review over TLS (a pod DELETE: nothing to do).
	resp, err := c.Post(base+"/mutate-pod", "application/json", bytes.NewReader([]byte(
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"DELETE"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u","allowed":true}}`; strings.TrimSpace(string(b)) != want {
		t.Errorf("/mutate-pod = %s", b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `railnet_webhook_requests_total{endpoint="mutate",kind="Pod",outcome="allowed"} 1`) {
		t.Errorf("/metrics = %d, missing request count:\n%s", code, body)
	}
	// Graceful shutdown: Serve returns nil and the port closes.
	stop()
	if _, err := c.Get(base + "/healthz"); err == nil {
		t.Errorf("server still answers after shutdown")
	}
}

// unhealthy is a certificate source that lost its certificate.
type unhealthy struct{ CertSource }

func (unhealthy) HealthError() error {
	return errors.New("no serving certificate loaded from files yet")
}

func TestEngineRoutes(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "x")
	certs := newSource(t, dir)
	e := Engine(Options{Handler: &admission.Handler{Store: noStore{}}, Certs: certs})
	for _, tt := range []struct {
		method, path string
		code         int
	}{{"GET", "/mutate-pod", 404}, {"POST", "/nope", 404}, {"GET", "/metrics", 404}, {"POST", "/validate-spiderippool", 415}, {"POST", "/mutate-spidermultusconfig", 415}, {"GET", "/healthz", 200}} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.code)
		}
	}
	e = Engine(Options{Handler: &admission.Handler{Store: noStore{}}, Certs: unhealthy{certs}})
	for _, path := range []string{"/healthz", "/readyz"} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != 503 || w.Body.String() != "certificate: no serving certificate loaded from files yet\n" {
			t.Errorf("%s with no certificate = %d %q", path, w.Code, w.Body.String())
		}
	}
}
