package app

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certSource serves the certificate in certFile/keyFile and reloads it when
// either file changes, so a rotated certificate (cert-manager, the chart's
// Secret) is picked up without a restart.
type certSource struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	lastErr error
}

func (s *certSource) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt, err := newest(s.certFile, s.keyFile)
	if err == nil && s.cert != nil && mt.Equal(s.modTime) {
		return s.cert, nil
	}
	if err == nil {
		var c tls.Certificate
		c, err = tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err == nil {
			s.cert, s.modTime, s.lastErr = &c, mt, nil
			return s.cert, nil
		}
	}
	s.lastErr = fmt.Errorf("load serving certificate %s / %s: %w", s.certFile, s.keyFile, err)
	if s.cert != nil {
		return s.cert, nil // keep serving the last good one
	}
	return nil, s.lastErr
}

func (s *certSource) healthy() error {
	_, _ = s.get(nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func newest(files ...string) (time.Time, error) {
	var t time.Time
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return t, err
		}
		if fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t, nil
}
