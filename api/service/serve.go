package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"k8s.io/klog/v2"
)

// Timeouts are a server's limits. Serve's are DefaultTimeouts; WithTimeouts
// changes some for a server that needs others.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers: a client that
	// trickles them (slow loris) is cut off.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included.
	Read time.Duration
	// Write bounds answering a request, from the end of its headers.
	Write time.Duration
	// Idle is how long a keep-alive connection waits for its next request.
	Idle time.Duration
	// Drain is how long requests in flight may finish once the context
	// ends; then their connections are closed.
	Drain time.Duration
}

// DefaultTimeouts are every server's limits unless WithTimeouts says
// otherwise. kube-scheduler's and the apiserver's calls (extender, webhook)
// carry small bodies and are answered in well under the write limit.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second,
	Idle: 2 * time.Minute, Drain: 10 * time.Second}

// Option changes a setting of Serve.
type Option func(*settings)

// settings are Serve's: its limits and the HTTP versions it serves (nil:
// net/http's default, HTTP/1.1 and, over TLS, HTTP/2).
type settings struct {
	Timeouts
	protocols *http.Protocols
}

// WithTimeouts replaces the default limits by t's non-zero fields, e.g. a
// longer Write for a server whose answers may take a minute.
func WithTimeouts(t Timeouts) Option {
	return func(s *settings) {
		d := &s.Timeouts
		for _, f := range []struct{ to, from *time.Duration }{
			{&d.ReadHeader, &t.ReadHeader}, {&d.Read, &t.Read}, {&d.Write, &t.Write}, {&d.Idle, &t.Idle}, {&d.Drain, &t.Drain},
		} {
			if *f.from != 0 {
				*f.to = *f.from
			}
		}
	}
}

// WithProtocols sets the HTTP versions served (http.Server.Protocols).
func WithProtocols(p http.Protocols) Option {
	return func(s *settings) { s.protocols = &p }
}

// Serve serves h on l until ctx ends: HTTPS when tlsConfig is set (it needs
// Certificates or GetCertificate), plain HTTP otherwise. When ctx ends it
// stops accepting, lets the requests in flight finish within the drain
// limit, closes what is left and returns; the error is nil unless the
// listener failed or requests had to be cut off. Serve closes l.
func Serve(ctx context.Context, l net.Listener, h http.Handler, tlsConfig *tls.Config, opts ...Option) error {
	set := settings{Timeouts: DefaultTimeouts}
	for _, o := range opts {
		o(&set)
	}
	t := set.Timeouts
	srv := &http.Server{Handler: h, TLSConfig: tlsConfig, Protocols: set.protocols,
		ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
	addr := l.Addr().String()
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(l, "", "")
			return
		}
		errc <- srv.Serve(l)
	}()
	klog.FromContext(ctx).Info("serving", "address", addr, "tls", tlsConfig != nil)
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.Drain)
	defer cancel()
	err := srv.Shutdown(drain)
	if err != nil {
		_ = srv.Close()
		err = fmt.Errorf("shut down %s: requests still in flight after %s were cut off: %w", addr, t.Drain, err)
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve on %s: %w", addr, serr)
	}
	return err
}
