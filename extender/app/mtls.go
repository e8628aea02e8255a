package app

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// ClientCAs is a certificate source that also knows the CAs client
// certificates must chain to (serving.Source: the self-managed CAs, which
// issue the scheduler's client certificate, or cert-manager's ca.crt).
type ClientCAs interface {
	TrustedCAs() []*x509.Certificate
}

// ClientCertTLS returns base asking every client for a certificate and
// verifying one that is given against the CAs trusted at that handshake (a
// CA rotation needs no restart). A client without a certificate still
// completes the handshake, for /healthz probes; RequireClientCert refuses
// its other requests.
func ClientCertTLS(base *tls.Config, cas ClientCAs) *tls.Config {
	cfg := base.Clone()
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.ClientAuth = tls.VerifyClientCertIfGiven
		pool := x509.NewCertPool()
		for _, ca := range cas.TrustedCAs() {
			pool.AddCert(ca)
		}
		c.ClientCAs = pool
		return c, nil
	}
	return cfg
}

// clientCertRefusal is the answer to a request without a verified client
// certificate.
const clientCertRefusal = "railnet extender: this HTTPS endpoint answers only the scheduler, which must present its client certificate: " +
	"set certFile and keyFile in the extender's tlsConfig of the KubeSchedulerConfiguration (the chart's Secret <release>-scheduler-client, " +
	"mounted by its secondary scheduler; see the chart's <release>-extender-scheduler-config ConfigMap)"

// RequireClientCert answers 401 to a request that came without a verified
// client certificate, except GET /healthz and /metrics (kubelet probes and
// Prometheus).
func RequireClientCert(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		open := r.Method == http.MethodGet && (r.URL.Path == "/healthz" || r.URL.Path == "/metrics")
		if !open && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
			http.Error(w, clientCertRefusal, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
