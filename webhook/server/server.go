package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/railnet/railnet/api/service"
	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/metrics"
	"github.com/railnet/railnet/webhook/registration"
)

// CertSource hands out the serving certificate; certs/serving.Source
// implements it.
type CertSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// HealthError is nil while a valid certificate is loaded.
	HealthError() error
}

// Options configure the server.
type Options struct {
	Handler *admission.Handler
	Metrics *metrics.Metrics
	Certs   CertSource
	// Ready is nil once the service can answer (caches synced).
	Ready func() error
	// BudgetBytes bounds the admission review bodies served at once, both
	// endpoints together (admission.Limit); 0 means
	// admission.DefaultBudgetBytes.
	BudgetBytes int64
}

// Engine returns the gin engine with every route; tests call its ServeHTTP.
func Engine(o Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(gin.Recovery())
	var rec admission.Recorder
	if o.Metrics != nil {
		rec = o.Metrics
	}
	budget := o.BudgetBytes
	if budget == 0 {
		budget = admission.DefaultBudgetBytes
	}
	b := admission.NewBudget(budget)
	mutate := gin.WrapH(admission.Limit(b, admission.Endpoint("mutate", o.Handler.Mutate, rec)))
	validate := gin.WrapH(admission.Limit(b, admission.Endpoint("validate", o.Handler.Validate, rec)))
	for _, p := range registration.MutatePaths {
		e.POST(p, mutate)
	}
	for _, p := range registration.ValidatePaths {
		e.POST(p, validate)
	}
	certs := service.Check{Name: "certificate", Func: o.Certs.HealthError}
	e.GET("/healthz", gin.WrapF(service.Health(certs)))
	e.GET("/readyz", gin.WrapF(service.Health(certs, service.Check{Func: o.Ready})))
	if o.Metrics != nil {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Metrics.Registry, promhttp.HandlerOpts{})))
	}
	return e
}

// ServeMetrics serves /metrics over plain HTTP on l until ctx ends.
func ServeMetrics(ctx context.Context, l net.Listener, m *metrics.Metrics) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	return service.Serve(ctx, l, mux, nil)
}

// Serve serves HTTPS on l until ctx ends, then shuts down gracefully. It
// serves HTTP/2 and HTTP/1.1 (net/http's default): on loopback, one review
// at a time over a kept-alive connection, HTTP/1.1 costs about two thirds
// of HTTP/2's CPU and latency (BenchmarkServeProtocols; gin adds nothing
// measurable; a new TLS connection costs ~1.5 ms, resumed or not), but
// through a real apiserver one pair of runs on a loaded machine showed no
// gain (its webhook call 6.8 ms on HTTP/1.1, 5.0 ms on HTTP/2), so the
// default stays until a quieter measurement says otherwise
// (service.WithProtocols switches it).
func Serve(ctx context.Context, l net.Listener, o Options) error {
	return service.Serve(ctx, l, Engine(o), &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: o.Certs.GetCertificate})
}
