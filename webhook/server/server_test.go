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

	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/metrics"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with common
// name cn and returns its pool.
func writeCert(t *testing.T, dir, cn string) *x509.CertPool {
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

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeCert(t, dir, "first")
	certs, err := NewFileSource(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	certs.CheckEvery = 0
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	base := "https://" + l.Addr().String()
	client := func(pool *x509.CertPool) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	get := func(c *http.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	c := client(pool)
	if code, body := get(c, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(c, "/readyz"); code != 503 || body != "caches not synced\n" {
		t.Errorf("/readyz before sync = %d %q", code, body)
	}
	// An unannotated pod review over TLS.
	resp, err := c.Post(base+"/mutate-pod", "application/json", bytes.NewReader([]byte(
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"DELETE"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"u","allowed":true}}`; strings.TrimSpace(string(b)) != want {
		t.Errorf("/mutate = %s", b)
	}
	if code, body := get(c, "/metrics"); code != 200 || !strings.Contains(body, `railnet_webhook_requests_total{endpoint="mutate",kind="Pod",outcome="allowed"} 1`) {
		t.Errorf("/metrics = %d, missing request count:\n%s", code, body)
	}
	// A rotated certificate is picked up without a restart.
	pool2 := writeCert(t, dir, "second")
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client(pool2).Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotated certificate not served: %v", err)
		}
		// Touch the files forward in case both writes landed in one mtime tick.
		future := time.Now().Add(time.Second)
		_ = os.Chtimes(filepath.Join(dir, "tls.crt"), future, future)
		<-time.After(20 * time.Millisecond) // poll interval
	}
	var synced error
	ready.Store(&synced)
	if code, _ := get(client(pool2), "/readyz"); code != 200 {
		t.Errorf("/readyz after sync = %d", code)
	}
	// Broken files: the old certificate keeps serving, /healthz reports it.
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(2 * time.Second)
	_ = os.Chtimes(filepath.Join(dir, "tls.crt"), future, future)
	code, body := get(client(pool2), "/healthz")
	if code != 503 || !strings.HasPrefix(body, "certificate: load serving certificate") {
		t.Errorf("/healthz with broken files = %d %q", code, body)
	}
}

func TestEngineRoutes(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "x")
	certs, err := NewFileSource(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	e := Engine(Options{Handler: &admission.Handler{Store: noStore{}}, Certs: certs})
	for _, tt := range []struct {
		method, path string
		code         int
	}{{"GET", "/mutate-pod", 404}, {"POST", "/nope", 404}, {"GET", "/metrics", 404}, {"POST", "/validate-spiderippool", 415}, {"POST", "/mutate-spidermultusconfig", 415}} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.code)
		}
	}
	if _, err := NewFileSource(filepath.Join(dir, "missing.crt"), filepath.Join(dir, "tls.key")); err == nil ||
		!strings.HasPrefix(err.Error(), "stat serving certificate: ") {
		t.Errorf("missing file: %v", err)
	}
}
