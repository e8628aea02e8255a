package app

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/railnet/railnet/certs/pki"
)

// heldCAs are the trusted CAs, switchable as a CA rotation switches them.
type heldCAs struct {
	mu  sync.Mutex
	cas []*x509.Certificate
}

func (h *heldCAs) TrustedCAs() []*x509.Certificate {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cas
}

func (h *heldCAs) set(cas ...*x509.Certificate) {
	h.mu.Lock()
	h.cas = cas
	h.mu.Unlock()
}

func mustCA(t *testing.T, name string) *pki.KeyPair {
	t.Helper()
	ca, err := pki.NewCA(name, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func tlsCert(t *testing.T, issue func() (*pki.KeyPair, error)) tls.Certificate {
	t.Helper()
	kp, err := issue()
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A real HTTPS server with ClientCertTLS and RequireClientCert answers the
// scheduler's verbs only to a client certificate of a trusted CA, keeps
// /healthz open, and follows a change of the trusted CAs without a restart.
func TestClientCertRequired(t *testing.T) {
	ca, other := mustCA(t, "railnet-ca"), mustCA(t, "someone-else")
	now := time.Now()
	serving := tlsCert(t, func() (*pki.KeyPair, error) {
		return pki.IssueServing(ca, pki.ServingRequest{CommonName: "ext", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour}, now)
	})
	scheduler := tlsCert(t, func() (*pki.KeyPair, error) { return pki.IssueClient(ca, "railnet-scheduler", time.Hour, now) })
	stranger := tlsCert(t, func() (*pki.KeyPair, error) { return pki.IssueClient(other, "railnet-scheduler", time.Hour, now) })
	// A serving certificate of the same CA is no client certificate.
	serverAsClient := serving

	cas := &heldCAs{}
	cas.set(ca.Cert)
	base := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serving}}
	l, err := tls.Listen("tcp", "127.0.0.1:0", ClientCertTLS(base, cas))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: RequireClientCert(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })),
		ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "https://" + l.Addr().String()

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	call := func(method, path string, cert *tls.Certificate) (int, string, error) {
		tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			// Sent whatever CAs the server names, as client-go sends a
			// certificate from files.
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest(method, url+path, strings.NewReader("{}"))
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}

	for _, tc := range []struct {
		name         string
		method, path string
		cert         *tls.Certificate
		wantStatus   int
		wantBody     string
		wantErr      string
	}{
		{"no certificate: filter refused", http.MethodPost, "/filter", nil, http.StatusUnauthorized, clientCertRefusal + "\n", ""},
		{"no certificate: prioritize refused", http.MethodPost, "/prioritize", nil, http.StatusUnauthorized, clientCertRefusal + "\n", ""},
		{"no certificate: /healthz open for the kubelet", http.MethodGet, "/healthz", nil, http.StatusOK, "ok", ""},
		{"no certificate: /metrics open for Prometheus", http.MethodGet, "/metrics", nil, http.StatusOK, "ok", ""},
		{"the scheduler's certificate", http.MethodPost, "/filter", &scheduler, http.StatusOK, "ok", ""},
		{"another CA's certificate", http.MethodPost, "/filter", &stranger, 0, "", "certificate"},
		{"a serving certificate as client", http.MethodPost, "/filter", &serverAsClient, 0, "", "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := call(tc.method, tc.path, tc.cert)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got HTTP %d %q, err %v; want a TLS refusal mentioning %q", status, body, err, tc.wantErr)
				}
				return
			}
			if err != nil || status != tc.wantStatus || body != tc.wantBody {
				t.Fatalf("got HTTP %d %q, err %v; want %d %q", status, body, err, tc.wantStatus, tc.wantBody)
			}
		})
	}

	// A CA rotation: the other CA becomes the only trusted one.
	cas.set(other.Cert)
	if _, _, err := call(http.MethodPost, "/filter", &scheduler); err == nil {
		t.Error("a certificate of a CA no longer trusted was accepted")
	}
	if status, _, err := call(http.MethodPost, "/filter", &stranger); err != nil || status != http.StatusOK {
		t.Errorf("a certificate of the newly trusted CA: HTTP %d, %v", status, err)
	}
}

func TestRunRefusesClientCertWithoutCA(t *testing.T) {
	err := Run(t.Context(), nil, Config{HTTPSAddr: ":0", TLS: TLS{CertFile: "/x.crt", KeyFile: "/x.key"}, RequireClientCert: true})
	want := "--require-client-cert with --tls-cert-file needs --tls-ca-file, the CA that signs the scheduler's client certificate (or --require-client-cert=false)"
	if err == nil || err.Error() != want {
		t.Fatalf("Run = %v, want %q", err, want)
	}
}
