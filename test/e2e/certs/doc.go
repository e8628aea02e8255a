// Package certs tests railnet's self-managed certificates end to end on a real
// API server: a mutating webhook served with the certificate source and kept
// trusted by the caBundle injector admits a steady stream of pods while the
// serving certificate and the CA rotate; replicas share one CA; an emptied
// caBundle is repaired.
package certs
