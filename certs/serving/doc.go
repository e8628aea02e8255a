// Package serving picks the certificate mode of a railnet HTTPS service from
// its settings — cert-manager (mounted files) when a certificate file is given,
// self-managed (CA Secret, rotation, caBundle injection) otherwise — and hands
// the server one certificate source: GetCertificate per handshake, Start,
// Healthy/HealthError for /healthz, Bundle for clients that must trust it.
package serving
