// Package server is the webhook's HTTPS server (gin): /mutate and /validate
// for admission, /healthz (the certificate source is healthy), /readyz (and
// the caches are synced) and /metrics. The serving certificate comes from a
// CertSource (certs/serving in the service).
package server
