// Package selfmanaged runs railnet's own certificate authority against the API
// server: the CA lives in a Secret (created conflict-safely, rotated with an
// overlap window), each replica serves a certificate it issues from that CA
// (re-issued before expiry and after a CA change, taken per TLS handshake), and
// the caBundle of railnet's webhook configurations is kept equal to the trust
// bundle. Manager ties the three together; Authority, Source and Injector can be
// used alone.
package selfmanaged
