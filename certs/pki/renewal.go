package pki

import (
	"crypto/x509"
	"fmt"
	"time"
)

// DefaultRenewFraction is the part of a certificate's life after which it is
// re-issued when Lifetime sets neither RenewFraction nor RenewBefore.
const DefaultRenewFraction = 2.0 / 3.0

// Lifetime is how long certificates of one kind live and when they are
// re-issued.
type Lifetime struct {
	// Validity is the lifetime of a new certificate.
	Validity time.Duration
	// RenewFraction is the elapsed part of the lifetime (0 < f < 1) after
	// which the certificate is re-issued; DefaultRenewFraction when zero.
	RenewFraction float64
	// RenewBefore, when positive, re-issues the certificate once less than
	// this remains before expiry; it wins over RenewFraction.
	RenewBefore time.Duration
}

// Validate checks that the settings make sense; name says which lifetime.
func (l Lifetime) Validate(name string) error {
	switch {
	case l.Validity <= 0:
		return fmt.Errorf("%s: validity must be positive, got %s", name, l.Validity)
	case l.RenewFraction < 0 || l.RenewFraction >= 1:
		return fmt.Errorf("%s: renew fraction must be between 0 and 1 (exclusive), got %g", name, l.RenewFraction)
	case l.RenewBefore < 0 || l.RenewBefore >= l.Validity:
		return fmt.Errorf("%s: renew-before %s must be between 0 and the validity %s", name, l.RenewBefore, l.Validity)
	}
	return nil
}

// RenewBeforeExpiry is how long before its NotAfter a certificate issued with
// this lifetime is re-issued.
func (l Lifetime) RenewBeforeExpiry(cert *x509.Certificate) time.Duration {
	if l.RenewBefore > 0 {
		return l.RenewBefore
	}
	f := l.RenewFraction
	if f == 0 {
		f = DefaultRenewFraction
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	return time.Duration(float64(life) * (1 - f))
}

// RenewAt is the moment cert is due for re-issue.
func (l Lifetime) RenewAt(cert *x509.Certificate) time.Time {
	return cert.NotAfter.Add(-l.RenewBeforeExpiry(cert))
}

// Due reports whether cert must be re-issued at now.
func (l Lifetime) Due(cert *x509.Certificate, now time.Time) bool {
	return !now.Before(l.RenewAt(cert))
}

// Valid reports whether now lies within cert's validity period.
func Valid(cert *x509.Certificate, now time.Time) bool {
	return cert != nil && !now.Before(cert.NotBefore) && now.Before(cert.NotAfter)
}
