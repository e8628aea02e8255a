package filesource

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/railnet/railnet/certs/pki"
)

// ErrNoCertificate is returned by GetCertificate before a pair was loaded.
var ErrNoCertificate = errors.New("no serving certificate loaded from files yet")

// Options configure a Source.
type Options struct {
	CertFile, KeyFile string
	// CAFile, optional, is the CA bundle mounted beside the pair
	// (cert-manager's ca.crt): Bundle returns it and Subscribe reports its
	// changes, so clients that must be restarted to trust a new CA can be.
	CAFile string
	// Poll re-reads the files this often besides file events (default 10s).
	Poll time.Duration
	// Clock; the real clock when nil.
	Clock clock.WithTicker
}

// Source serves the pair found in CertFile and KeyFile.
type Source struct {
	opts   Options
	served atomic.Pointer[loaded]

	mu              sync.Mutex // serialises Load; guards the fields below
	certPEM, keyPEM []byte
	caPEM           []byte
	subs            []chan struct{}
	reloads         atomic.Int64
}

type loaded struct {
	tls  *tls.Certificate
	leaf *x509.Certificate
}

// New returns a Source for the given files; Start or Load reads them.
func New(opts Options) (*Source, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, fmt.Errorf("certificate files: both a certificate file and a key file are required (got %q and %q)", opts.CertFile, opts.KeyFile)
	}
	if opts.Poll <= 0 {
		opts.Poll = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Source{opts: opts}, nil
}

// GetCertificate returns the last good pair.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if p := s.served.Load(); p != nil {
		return p.tls, nil
	}
	return nil, ErrNoCertificate
}

// Healthy reports whether a pair is loaded and its certificate valid now.
func (s *Source) Healthy() bool {
	p := s.served.Load()
	return p != nil && pki.Valid(p.leaf, s.opts.Clock.Now())
}

// HealthError says why Healthy is false (nil when it is true).
func (s *Source) HealthError() error {
	p := s.served.Load()
	if p == nil {
		return fmt.Errorf("%w (%s, %s)", ErrNoCertificate, s.opts.CertFile, s.opts.KeyFile)
	}
	if now := s.opts.Clock.Now(); !pki.Valid(p.leaf, now) {
		return fmt.Errorf("serving certificate from %s is outside its validity %s..%s; renew it (cert-manager Certificate) and check the mount",
			s.opts.CertFile, p.leaf.NotBefore.UTC().Format(time.RFC3339), p.leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// Certificate is the served leaf certificate, nil before the first load.
func (s *Source) Certificate() *x509.Certificate {
	if p := s.served.Load(); p != nil {
		return p.leaf
	}
	return nil
}

// Reloads counts the pairs loaded so far.
func (s *Source) Reloads() int64 { return s.reloads.Load() }

// Bundle is the content of CAFile at the last load (nil without CAFile or
// before the first load).
func (s *Source) Bundle() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caPEM
}

// Subscribe returns a channel that receives a value after each change of
// the bundle (buffered: a slow reader sees one value for several changes).
func (s *Source) Subscribe() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{}, 1)
	s.subs = append(s.subs, ch)
	if s.caPEM != nil {
		ch <- struct{}{}
	}
	return ch
}

// Load reads the files and serves the pair when it changed and is valid. On
// error the previous pair stays served. The CA file is read after the pair:
// a bundle that does not parse is an error too, and the previous one stays.
func (s *Source) Load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadPair(); err != nil {
		return err
	}
	return s.loadCA()
}

func (s *Source) loadCA() error {
	if s.opts.CAFile == "" {
		return nil
	}
	caPEM, err := os.ReadFile(s.opts.CAFile)
	if err != nil {
		return fmt.Errorf("read CA bundle: %w", err)
	}
	if bytes.Equal(caPEM, s.caPEM) {
		return nil
	}
	if _, err := pki.ParseCerts(caPEM); err != nil {
		return fmt.Errorf("CA bundle %s: %w; keeping the previous one", s.opts.CAFile, err)
	}
	s.caPEM = caPEM
	for _, ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *Source) loadPair() error {
	certPEM, err := os.ReadFile(s.opts.CertFile)
	if err != nil {
		return fmt.Errorf("read certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(s.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	if s.served.Load() != nil && bytes.Equal(certPEM, s.certPEM) && bytes.Equal(keyPEM, s.keyPEM) {
		return nil
	}
	kp, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("%s and %s: %w; keeping the previous pair", s.opts.CertFile, s.opts.KeyFile, err)
	}
	tc, err := kp.TLSCertificate()
	if err != nil {
		return err
	}
	s.served.Store(&loaded{tls: tc, leaf: kp.Cert})
	s.certPEM, s.keyPEM = certPEM, keyPEM
	s.reloads.Add(1)
	return nil
}

// Start loads the pair and reloads it on changes until ctx ends.
func (s *Source) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("cert", s.opts.CertFile, "key", s.opts.KeyFile)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch certificate files: %w", err)
	}
	defer w.Close()
	dirs := map[string]bool{filepath.Dir(s.opts.CertFile): true, filepath.Dir(s.opts.KeyFile): true}
	if s.opts.CAFile != "" {
		dirs[filepath.Dir(s.opts.CAFile)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("watch folder %s of the certificate files: %w", d, err)
		}
	}
	poll := s.opts.Clock.NewTicker(s.opts.Poll)
	defer poll.Stop()
	var retry <-chan time.Time
	load := func() {
		before := s.Reloads()
		if err := s.Load(); err != nil {
			log.Error(err, "Reload the serving certificate")
			retry = s.opts.Clock.After(time.Second)
			return
		}
		retry = nil
		if s.Reloads() != before {
			log.Info("Loaded serving certificate", "serial", s.Certificate().SerialNumber, "notAfter", s.Certificate().NotAfter)
		}
	}
	load()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("certificate file watcher closed")
			}
			_ = ev
			load()
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("certificate file watcher closed")
			}
			log.Error(err, "Watch the certificate files; polling continues")
		case <-poll.C():
			load()
		case <-retry:
			load()
		}
	}
}
