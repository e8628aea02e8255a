package ipamwire

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve runs Go's HTTP server (what the agent runs) with handler on a unix
// socket in a new folder and returns the socket.
func serve(t *testing.T, handler http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipamwire-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ipam.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// The client's calls reach Go's HTTP server and read its answers: the
// request's method, path, type and body arrive; an answer larger than the
// server's chunking threshold (2 KiB) arrives whole; a refusal carries the
// service's message; a refusal without one names the status.
func TestClientAgainstHTTPServer(t *testing.T) {
	long := strings.Repeat("w", 8<<10)
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathNCCL, func(w http.ResponseWriter, r *http.Request) {
		var req NCCLRequest
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		_ = json.NewEncoder(w).Encode(NCCLResponse{HCA: "mlx5_" + req.IfName, Port: 1, GIDIndex: 3, Warning: long})
	})
	mux.HandleFunc("POST "+PathCheck, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(w).Encode(ErrorResponse{Error: "net1 of pod u holds no address"})
	})
	mux.HandleFunc("POST "+PathRelease, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	c := NewClient(serve(t, mux))
	ctx := context.Background()

	got, err := c.NCCL(ctx, NCCLRequest{PodUID: "u", IfName: "net1", Master: "ens1", IP: netip.MustParseAddr("172.16.11.5")})
	if err != nil || got.HCA != "mlx5_net1" || got.Port != 1 || got.GIDIndex != 3 || got.Warning != long {
		t.Fatalf("NCCL: %+v, %v", got.HCA, err)
	}
	if err := c.Check(ctx, CheckRequest{PodUID: "u", IfName: "net1"}); err == nil || err.Error() != "net1 of pod u holds no address" {
		t.Fatalf("Check refused by the service: %v", err)
	}
	if err := c.Release(ctx, ReleaseRequest{PodUID: "u", IfName: "net1"}); err == nil || err.Error() != "railnet IPAM service: HTTP 502" {
		t.Fatalf("Release answered 502 without a message: %v", err)
	}
}

// A call that cannot connect is ErrUnreachable; one whose connection the
// service drops before answering is ErrInterrupted; both say what to check.
// A cancelled call ends with the context's error.
func TestClientFailures(t *testing.T) {
	ctx := context.Background()
	gone := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	err := gone.Release(ctx, ReleaseRequest{PodUID: "u", IfName: "net1"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "none.sock") ||
		!strings.Contains(err.Error(), "is the railnet node agent running on this node?") {
		t.Fatalf("Release without a service: %v", err)
	}

	// A service that reads the request and closes the connection.
	dir := t.TempDir()
	sock := filepath.Join(dir, "drop.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	hold := make(chan struct{})
	defer close(hold)
	go func() {
		for n := 0; ; n++ {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = http.ReadRequest(bufio.NewReader(conn))
			if n == 0 {
				conn.Close() // first call: dropped
				continue
			}
			go func() { <-hold; conn.Close() }() // then: never answered
		}
	}()
	c := NewClient(sock)
	if _, err := c.Allocate(ctx, Request{PodUID: "u", IfName: "net1"}); !errors.Is(err, ErrInterrupted) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("Allocate dropped by the service: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := c.Allocate(cctx, Request{PodUID: "u", IfName: "net1"}); done <- err }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Allocate: %v", err)
		}
	case <-time.After(30 * time.Second): // hang guard
		t.Fatal("a cancelled call did not end")
	}
}

// readAnswer reads the body by Content-Length or to the end of the
// connection, calls a body cut short io.ErrUnexpectedEOF and refuses what
// is not an HTTP/1.x answer.
func TestReadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, in   string
		status     int
		body, fail string
	}{
		{"content-length", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}", 200, "{}", ""},
		{"content-length, more data after it", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage", 200, "{}", ""},
		{"to the end", "HTTP/1.0 409 Conflict\r\nContent-Type: application/json\r\n\r\n{\"error\":\"x\"}\n", 409, "{\"error\":\"x\"}\n", ""},
		{"no body", "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", 502, "", ""},
		{"cut short", "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n{}", 0, "", io.ErrUnexpectedEOF.Error()},
		{"nothing", "", 0, "", io.EOF.Error()},
		{"header cut short", "HTTP/1.0 200 OK\r\nContent-Len", 0, "", io.ErrUnexpectedEOF.Error()},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", `malformed HTTP status line "SSH-2.0-OpenSSH"`},
		{"bad status", "HTTP/1.0 2000 OK\r\n\r\n", 0, "", `malformed HTTP status line "HTTP/1.0 2000 OK"`},
		{"bad length", "HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", `malformed HTTP Content-Length "-1"`},
	} {
		status, body, err := readAnswer(bufio.NewReader(strings.NewReader(tc.in)))
		if tc.fail != "" {
			if err == nil || !strings.Contains(err.Error(), tc.fail) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.fail)
			}
			continue
		}
		if err != nil || status != tc.status || string(body) != tc.body {
			t.Errorf("%s: %d %q %v, want %d %q", tc.name, status, body, err, tc.status, tc.body)
		}
	}
	for _, cut := range []string{"", "HTTP/1.0 200", "HTTP/1.0 200 OK\r\nContent-Len", "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n{}"} {
		if _, _, err := readAnswer(bufio.NewReader(strings.NewReader(cut))); !dropped(err) {
			t.Errorf("an answer cut short after %q is %v, want a dropped call", cut, err)
		}
	}
}
