package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
)

// startService serves a Service without an allocator on a socket in a new
// folder: every request below must be refused before the allocator is used.
func startService(t *testing.T) (string, *http.Client) {
	t.Helper()
	return startServiceWith(t, &Service{})
}

func startServiceWith(t *testing.T, svc *Service) (string, *http.Client) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipam-svc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sub", "ipam.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	svc.Socket = sock
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the IPAM socket never appeared")
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return sock, &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
}

func TestServiceSocketIsRootOnly(t *testing.T) {
	sock, _ := startService(t)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v (%v), want a 0600 socket", fi.Mode(), err)
	}
	di, err := os.Stat(filepath.Dir(sock))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("socket folder mode %v (%v), want 0700", di.Mode(), err)
	}
}

// Malformed requests get a 400 naming the problem; the server keeps serving.
func TestServiceRefusesMalformedRequests(t *testing.T) {
	_, c := startService(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"not JSON", "POST", ipamwire.PathAllocate, `{"ippools":`, 400, "malformed IPAM request: unexpected EOF"},
		{"wrong type", "POST", ipamwire.PathAllocate, `{"ippools":{"ipv4":"gpu1"}}`, 400, "malformed IPAM request: json: cannot unmarshal string"},
		{"unknown field", "POST", ipamwire.PathRelease, `{"podUID":"u","pod":"x"}`, 400, `malformed IPAM request: json: unknown field "pod"`},
		{"bad address", "POST", ipamwire.PathCheck, `{"podUID":"u","ifName":"net1","ips":["300.1.1.1"]}`, 400, "malformed IPAM request"},
		{"trailing garbage", "POST", ipamwire.PathRelease, `{"podUID":"u","ifName":"net1"} {"podUID":"v"}`, 400, "malformed IPAM request: data after the JSON object"},
		{"trailing bytes", "POST", ipamwire.PathRelease, `{"podUID":"u","ifName":"net1"}xyz`, 400, "malformed IPAM request"},
		{"too large", "POST", ipamwire.PathAllocate, `{"podName":"` + strings.Repeat("x", 70<<10) + `"}`, 400, "request body too large"},
		{"GET", "GET", ipamwire.PathAllocate, "", 405, ""},
		{"unknown path", "POST", "/v1/steal", "{}", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://ipam"+tc.path, strings.NewReader(tc.body))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var e ipamwire.ErrorResponse
			if tc.msg != "" && json.Unmarshal(body, &e) != nil {
				t.Fatalf("HTTP %d %s: not an error response", resp.StatusCode, body)
			}
			if resp.StatusCode != tc.status || !strings.Contains(e.Error, tc.msg) {
				t.Fatalf("HTTP %d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.msg)
			}
		})
	}
}

// A client that sends part of a request and stalls is cut off after the
// read timeout instead of holding the connection for ever.
func TestServiceCutsOffStalledClients(t *testing.T) {
	sock, _ := startServiceWith(t, &Service{ReadTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ipam\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"podUID\":", ipamwire.PathRelease)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn) // the server answers 400 or just closes
	if err != nil {
		t.Fatalf("the stalled connection was not closed by the service: %v", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("the service held a stalled client for %s", waited)
	}
}

// The client turns a refusal into an error carrying the service's message,
// and a missing service into one that says what to check.
func TestClientErrors(t *testing.T) {
	sock, _ := startService(t)
	c := ipamwire.NewClient(sock)
	err := c.Check(context.Background(), ipamwire.CheckRequest{PodUID: strings.Repeat("u", 70<<10)})
	if err == nil || !strings.Contains(err.Error(), "malformed IPAM request") {
		t.Fatalf("Check with an oversized request: %v", err)
	}
	gone := ipamwire.NewClient(filepath.Join(t.TempDir(), "none.sock"))
	err = gone.Release(context.Background(), ipamwire.ReleaseRequest{PodUID: "u", IfName: "net1"})
	if err == nil || !strings.Contains(err.Error(), "is the railnet node agent running on this node?") ||
		!strings.Contains(err.Error(), "none.sock") {
		t.Fatalf("Release without a service: %v", err)
	}
}
