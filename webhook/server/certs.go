package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertSource hands out the serving certificate.
type CertSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Healthy is nil while the source can serve a certificate.
	Healthy() error
}

// FileSource serves a certificate from PEM files, reloading them when their
// modification time changes (checked at most once per CheckEvery).
type FileSource struct {
	CertFile, KeyFile string
	CheckEvery        time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	certMod   time.Time
	keyMod    time.Time
	lastCheck time.Time
	lastErr   error
}

// NewFileSource loads the files once; a missing or broken pair is an error.
func NewFileSource(certFile, keyFile string) (*FileSource, error) {
	s := &FileSource{CertFile: certFile, KeyFile: keyFile, CheckEvery: time.Second}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSource) reload() error {
	ci, err := os.Stat(s.CertFile)
	if err != nil {
		return fmt.Errorf("stat serving certificate: %w", err)
	}
	ki, err := os.Stat(s.KeyFile)
	if err != nil {
		return fmt.Errorf("stat serving key: %w", err)
	}
	if s.cert != nil && ci.ModTime().Equal(s.certMod) && ki.ModTime().Equal(s.keyMod) {
		return nil
	}
	c, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return fmt.Errorf("load serving certificate %s / %s: %w", s.CertFile, s.KeyFile, err)
	}
	s.cert, s.certMod, s.keyMod = &c, ci.ModTime(), ki.ModTime()
	return nil
}

// GetCertificate is tls.Config.GetCertificate. A failed reload keeps the
// previous certificate and is reported by Healthy.
func (s *FileSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.lastCheck) >= s.CheckEvery {
		s.lastCheck = time.Now()
		s.lastErr = s.reload()
	}
	if s.cert == nil {
		return nil, errors.New("no serving certificate loaded")
	}
	return s.cert, nil
}

// Healthy reports the last reload error.
func (s *FileSource) Healthy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}
