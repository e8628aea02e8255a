package serving

import (
	"crypto/x509"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// expiryDesc is the one metric a Source exports: when each certificate it
// relies on stops being valid, so an alert can fire well before.
var expiryDesc = prometheus.NewDesc("railnet_certificate_expiry_timestamp_seconds",
	"When a certificate stops being valid (Unix seconds): certificate=\"serving\" is the one served now, "+
		"certificate=\"ca\" each CA clients are asked to trust. Alert on it minus time().",
	[]string{"certificate", "serial", "subject"}, nil)

// Describe implements prometheus.Collector.
func (s *Source) Describe(ch chan<- *prometheus.Desc) { ch <- expiryDesc }

// Collect implements prometheus.Collector: nothing before a certificate is
// loaded.
func (s *Source) Collect(ch chan<- prometheus.Metric) {
	emit := func(kind string, c *x509.Certificate) {
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, float64(c.NotAfter.Unix()),
			kind, fmt.Sprintf("%x", c.SerialNumber), c.Subject.CommonName)
	}
	if leaf := s.src.Certificate(); leaf != nil {
		emit("serving", leaf)
	}
	for _, ca := range s.cas() {
		emit("ca", ca)
	}
}
