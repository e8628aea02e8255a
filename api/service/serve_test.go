package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/railnet/railnet/certs/pki"
)

// hangGuard bounds every wait of these tests: reaching it is a hang, never a
// measure of speed.
const hangGuard = 30 * time.Second

// server runs Serve on a fresh loopback listener and returns its address and
// a stop that cancels it and returns Serve's error.
func server(t *testing.T, h http.Handler, tlsConfig *tls.Config, opts ...Option) (addr string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, h, tlsConfig, opts...) }()
	var result error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(hangGuard):
				t.Fatal("Serve did not return after its context ended")
			}
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return l.Addr().String(), stop
}

// selfSigned returns a TLS configuration serving a certificate for
// 127.0.0.1 and a client configuration trusting it.
func selfSigned(t *testing.T) (serverTLS, clientTLS *tls.Config) {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA("test-ca", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "test", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Validity: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := kp.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }},
		&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Plain HTTP and HTTPS answer, stop cleanly when the context ends, and the
// port is closed afterwards.
func TestServePlainAndTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, tc := range []struct {
		name              string
		scheme            string
		server, clientTLS *tls.Config
	}{
		{"plain", "http", nil, nil},
		{"tls", "https", serverTLS, clientTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, stop := server(t, hello, tc.server)
			c := &http.Client{Timeout: hangGuard, Transport: &http.Transport{TLSClientConfig: tc.clientTLS}}
			if body, err := get(c, tc.scheme+"://"+addr+"/"); err != nil || body != "hello" {
				t.Fatalf("GET = %q, %v", body, err)
			}
			if tc.server != nil {
				// Plain HTTP to the HTTPS port is no answer.
				if body, err := get(&http.Client{Timeout: hangGuard}, "http://"+addr+"/"); err == nil && body == "hello" {
					t.Error("the HTTPS server answered plain HTTP")
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("Serve = %v after a clean stop", err)
			}
			if conn, err := net.Dial("tcp", addr); err == nil {
				conn.Close()
				t.Error("the port still accepts connections after Serve returned")
			}
		})
	}
}

// blocking is a handler that signals when a request arrived and answers it
// only when released (or its connection is gone).
type blocking struct{ entered, release chan struct{} }

func newBlocking(t *testing.T) blocking {
	b := blocking{entered: make(chan struct{}, 1), release: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-b.release:
		default:
			close(b.release)
		}
	})
	return b
}

func (b blocking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		io.WriteString(w, "finished")
	case <-r.Context().Done():
	}
}

// A request in flight when the context ends is answered in full before
// Serve returns; new connections are refused meanwhile.
func TestServeDrainsInFlightRequest(t *testing.T) {
	b := newBlocking(t)
	addr, stop := server(t, b, nil)
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		body, err := get(&http.Client{Timeout: hangGuard}, "http://"+addr+"/")
		got <- result{body, err}
	}()
	<-b.entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Shutdown has begun once the listener refuses connections.
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(10 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after the context ended")
		}
	}
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	default:
	}
	close(b.release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Fatalf("the in-flight request got %q, %v; want its full answer", r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve = %v after draining", err)
	}
}

// A request still running when the drain limit is reached is cut off, and
// Serve says so.
func TestServeBoundsTheDrain(t *testing.T) {
	b := newBlocking(t)
	addr, stop := server(t, b, nil, WithTimeouts(Timeouts{Drain: 50 * time.Millisecond}))
	got := make(chan error, 1)
	go func() {
		_, err := get(&http.Client{Timeout: hangGuard}, "http://"+addr+"/")
		got <- err
	}()
	<-b.entered
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "requests still in flight after 50ms were cut off") {
		t.Fatalf("Serve = %v, want the cut-off requests reported", err)
	}
	if err := <-got; err == nil {
		t.Error("the cut-off request got an answer")
	}
}

// A client that keeps trickling header bytes (slow loris) is cut off by the
// header limit, though every other limit is far away: the server closes the
// connection (after at most a 400) and never serves the request.
func TestServeCutsSlowLoris(t *testing.T) {
	addr, _ := server(t, hello, nil, WithTimeouts(Timeouts{ReadHeader: 200 * time.Millisecond, Read: time.Hour, Write: time.Hour, Idle: time.Hour}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stopWriting := make(chan struct{})
	defer close(stopWriting)
	go func() {
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWriting:
				return
			case <-tick.C:
			}
			if _, err := io.WriteString(conn, "a"); err != nil {
				return // the server closed the connection
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(hangGuard))
	b, err := io.ReadAll(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the slow client still holds its connection")
	}
	if strings.Contains(string(b), "hello") {
		t.Errorf("the slow client's request was served: %q", b)
	}
}

// A listener that fails ends Serve with its error at once.
func TestServeListenerFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	err = Serve(t.Context(), l, hello, nil)
	if err == nil || !strings.Contains(err.Error(), "serve on "+l.Addr().String()) {
		t.Fatalf("Serve on a closed listener = %v", err)
	}
}

func TestWithTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want Timeouts
	}{
		{"defaults", nil, DefaultTimeouts},
		{"a longer write only", []Option{WithTimeouts(Timeouts{Write: 70 * time.Second})},
			Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 70 * time.Second, Idle: 2 * time.Minute, Drain: 10 * time.Second}},
		{"all", []Option{WithTimeouts(Timeouts{ReadHeader: 1, Read: 2, Write: 3, Idle: 4, Drain: 5})}, Timeouts{1, 2, 3, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := settings{Timeouts: DefaultTimeouts}
			for _, o := range tc.opts {
				o(&set)
			}
			if got := set.Timeouts; got != tc.want {
				t.Fatalf("got %+v, want %+v", set.Timeouts, tc.want)
			}
		})
	}
}

// HTTPS serves HTTP/2 to a client that offers it, and only HTTP/1.1 when
// WithProtocols says so.
func TestWithProtocols(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	var h1 http.Protocols
	h1.SetHTTP1(true)
	for _, tc := range []struct {
		name  string
		opts  []Option
		major int
	}{
		{"default", nil, 2},
		{"HTTP/1.1 only", []Option{WithProtocols(h1)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := server(t, hello, serverTLS, tc.opts...)
			c := &http.Client{Timeout: hangGuard, Transport: &http.Transport{TLSClientConfig: clientTLS.Clone(), ForceAttemptHTTP2: true}}
			resp, err := c.Get("https://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != tc.major {
				t.Errorf("served %s, want HTTP/%d", resp.Proto, tc.major)
			}
		})
	}
}
