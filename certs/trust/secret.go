package trust

import (
	"bytes"
	"fmt"
	"time"

	"github.com/railnet/railnet/certs/pki"
)

// Keys of the Secret data that stores a State. ca.crt is the trust bundle,
// for whoever mounts the Secret.
const (
	KeyCert            = "tls.crt"
	KeyKey             = "tls.key"
	KeyBundle          = "ca.crt"
	KeyNextCert        = "next.crt"
	KeyNextKey         = "next.key"
	KeyPromoteAt       = "next-promote-at"
	KeyPreviousCert    = "previous.crt"
	KeyRetireAt        = "previous-retire-at"
	KeyRotationHandled = "rotation-handled"
)

// AnnotationRotate on the CA Secret requests a CA rotation: set it to a new
// value (e.g. the current time) and the next rotation starts at once.
const AnnotationRotate = "railnet.io/rotate-ca"

// Encode returns the Secret data for s.
func Encode(s State) map[string][]byte {
	d := map[string][]byte{}
	if s.Current != nil {
		d[KeyCert], d[KeyKey] = s.Current.CertPEM, s.Current.KeyPEM
	}
	if s.Next != nil {
		d[KeyNextCert], d[KeyNextKey] = s.Next.CertPEM, s.Next.KeyPEM
		d[KeyPromoteAt] = []byte(s.PromoteAt.UTC().Format(time.RFC3339Nano))
	}
	if s.Previous != nil {
		d[KeyPreviousCert] = pki.EncodeCert(s.Previous)
		d[KeyRetireAt] = []byte(s.RetireAt.UTC().Format(time.RFC3339Nano))
	}
	if s.RotationHandled != "" {
		d[KeyRotationHandled] = []byte(s.RotationHandled)
	}
	d[KeyBundle] = s.Bundle()
	return d
}

// Decode reads a State from Secret data. Missing or broken parts are dropped
// with an error naming them, so that Advance repairs the rest: a broken
// current CA yields an empty State (a new CA), a broken next or previous CA is
// forgotten.
func Decode(d map[string][]byte) (State, []error) {
	var s State
	var errs []error
	if len(d[KeyCert]) == 0 && len(d[KeyKey]) == 0 {
		return s, nil
	}
	cur, err := pki.ParseKeyPair(d[KeyCert], d[KeyKey])
	if err != nil {
		return State{}, []error{fmt.Errorf("current CA (%s/%s): %w", KeyCert, KeyKey, err)}
	}
	if !cur.Cert.IsCA {
		return State{}, []error{fmt.Errorf("current CA (%s): certificate %q is not a CA", KeyCert, cur.Cert.Subject.CommonName)}
	}
	s.Current = cur
	s.RotationHandled = string(d[KeyRotationHandled])
	if len(d[KeyNextCert]) > 0 {
		next, err := pki.ParseKeyPair(d[KeyNextCert], d[KeyNextKey])
		var at time.Time
		if err == nil {
			at, err = time.Parse(time.RFC3339Nano, string(d[KeyPromoteAt]))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("next CA (%s/%s/%s): %w", KeyNextCert, KeyNextKey, KeyPromoteAt, err))
		} else {
			s.Next, s.PromoteAt = next, at
		}
	}
	if len(d[KeyPreviousCert]) > 0 {
		certs, err := pki.ParseCerts(d[KeyPreviousCert])
		var at time.Time
		if err == nil {
			at, err = time.Parse(time.RFC3339Nano, string(d[KeyRetireAt]))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("previous CA (%s/%s): %w", KeyPreviousCert, KeyRetireAt, err))
		} else {
			s.Previous, s.RetireAt = certs[0], at
		}
	}
	return s, errs
}

// Equal reports whether two Secret data maps hold the same bytes.
func Equal(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
