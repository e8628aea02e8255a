package selfmanaged

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/railnet/railnet/certs/pki"
)

// ErrNoCertificate is returned by GetCertificate before the first certificate
// was issued.
var ErrNoCertificate = errors.New("no serving certificate issued yet: the CA secret has not been read")

// SigningCA is the CA a Source issues from; *Authority is one.
type SigningCA interface {
	Current() *pki.KeyPair
	Subscribe() <-chan struct{}
}

// SourceOptions configure a Source.
type SourceOptions struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	// Lifetime of serving certificates and when they are re-issued.
	Lifetime pki.Lifetime
	// Clock; the real clock when nil.
	Clock clock.WithTicker
}

// Source serves a certificate issued from the current CA, re-issued before it
// is due and whenever the CA changes. Give GetCertificate to
// tls.Config.GetCertificate: every handshake takes the current certificate, so
// rotation needs no restart.
type Source struct {
	ca     SigningCA
	opts   SourceOptions
	served atomic.Pointer[served]
	issued atomic.Int64
}

type served struct {
	kp  *pki.KeyPair
	tls *tls.Certificate
	ca  *x509.Certificate
}

// NewSource returns a Source issuing from ca.
func NewSource(ca SigningCA, opts SourceOptions) (*Source, error) {
	if err := opts.Lifetime.Validate("serving certificate lifetime"); err != nil {
		return nil, err
	}
	if len(opts.DNSNames) == 0 && len(opts.IPs) == 0 {
		return nil, fmt.Errorf("serving certificate %q: no DNS name or IP address to certify", opts.CommonName)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Source{ca: ca, opts: opts}, nil
}

// GetCertificate returns the current serving certificate.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if p := s.served.Load(); p != nil {
		return p.tls, nil
	}
	return nil, ErrNoCertificate
}

// Healthy reports whether a certificate is loaded and valid now.
func (s *Source) Healthy() bool {
	p := s.served.Load()
	return p != nil && pki.Valid(p.kp.Cert, s.opts.Clock.Now())
}

// HealthError says why the source is not healthy, nil when it is: for a
// /healthz handler that reports the reason.
func (s *Source) HealthError() error {
	p := s.served.Load()
	if p == nil {
		return ErrNoCertificate
	}
	if now := s.opts.Clock.Now(); !pki.Valid(p.kp.Cert, now) {
		return fmt.Errorf("serving certificate %q is outside its validity %s..%s; check the CA secret and the logs",
			p.kp.Cert.Subject.CommonName, p.kp.Cert.NotBefore.UTC().Format(time.RFC3339), p.kp.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// Certificate is the served certificate, nil before the first issue.
func (s *Source) Certificate() *x509.Certificate {
	if p := s.served.Load(); p != nil {
		return p.kp.Cert
	}
	return nil
}

// Issued counts the certificates issued so far.
func (s *Source) Issued() int64 { return s.issued.Load() }

// Start issues and re-issues until ctx ends.
func (s *Source) Start(ctx context.Context) error {
	return reissueLoop(ctx, s.opts.Clock, s.ca.Subscribe(), time.Second, "Issue the serving certificate; retrying",
		func(now time.Time) (time.Duration, error) { return s.ensure(now) })
}

// reissueLoop calls ensure until ctx ends: again after the wait it returns,
// after retry when it fails (logging failed), and at once when the CA
// changes.
func reissueLoop(ctx context.Context, clk clock.WithTicker, changed <-chan struct{}, retry time.Duration, failed string,
	ensure func(now time.Time) (time.Duration, error)) error {
	log := klog.FromContext(ctx)
	for {
		wait, err := ensure(clk.Now())
		if err != nil {
			log.Error(err, failed)
			wait = retry
		}
		timer := clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-changed:
		case <-timer.C():
		}
		timer.Stop()
	}
}

// idleWait bounds the time between two checks when nothing is due.
const idleWait = time.Minute

// ensure issues a certificate when none is served, the served one is due or
// was signed by another CA than the current one. It returns how long to wait
// before the next check.
func (s *Source) ensure(now time.Time) (time.Duration, error) {
	ca := s.ca.Current()
	if ca == nil {
		return idleWait, nil // Subscribe wakes us when the CA is read
	}
	if p := s.served.Load(); p != nil && p.ca.Equal(ca.Cert) && !s.opts.Lifetime.Due(p.kp.Cert, now) {
		return min(idleWait, s.opts.Lifetime.RenewAt(p.kp.Cert).Sub(now)), nil
	}
	kp, err := pki.IssueServing(ca, pki.ServingRequest{
		CommonName: s.opts.CommonName, DNSNames: s.opts.DNSNames, IPs: s.opts.IPs, Validity: s.opts.Lifetime.Validity,
	}, now)
	if err != nil {
		return 0, err
	}
	tc, err := kp.TLSCertificate()
	if err != nil {
		return 0, err
	}
	s.served.Store(&served{kp: kp, tls: tc, ca: ca.Cert})
	s.issued.Add(1)
	wait := s.opts.Lifetime.RenewAt(kp.Cert).Sub(now)
	if wait <= 0 {
		// A certificate clamped to a CA about to expire: the CA rotation
		// will wake us; do not spin.
		wait = time.Second
	}
	return min(idleWait, wait), nil
}
