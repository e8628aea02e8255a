// Package pki issues the certificates railnet serves with: a self-signed CA and
// serving certificates for a Service's DNS names (plus extra SANs), PEM
// encoding, and the renewal math (when a certificate is due for re-issue). It is
// pure: every function takes the current time as an argument.
package pki
