package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/railnet/railnet/api/service"
	"github.com/railnet/railnet/test/cputime"
	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/inject"
	"github.com/railnet/railnet/webhook/registration"
)

// offStore is a cluster whose configuration injects nowhere: every pod is
// answered at once, so a review costs what the transport around it does.
type offStore struct{ admission.Store }

func (offStore) InjectConfig(context.Context) (inject.Config, error) { return inject.Config{}, nil }

// BenchmarkServeProtocols is the HTTP and TLS side of an admission review
// as the apiserver calls the webhook, one pod at a time, through Serve on
// loopback: HTTP/2 and HTTP/1.1 over a kept-alive TLS connection, a new
// TLS connection per review (a resumed session, a full handshake), and the
// gin engine against the bare endpoint. The review needs no work (the
// pod asks for nothing), so the figures are the transport's. Each case runs
// in blocks alternating with the others; it prints the latency p50/p99 and
// the CPU time of the process (client and server) per review.
func BenchmarkServeProtocols(b *testing.B) {
	dir := b.TempDir()
	pool := writeCert(b, dir, "bench")
	certs := newSource(b, dir)
	h := &admission.Handler{Store: offStore{}}
	engine := Engine(Options{Handler: h, Certs: certs})
	bare := http.NewServeMux()
	bare.Handle(registration.MutatePodPath, admission.Limit(admission.NewBudget(0), admission.Endpoint("mutate", h.Mutate, nil)))
	serve := func(handler http.Handler) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- service.Serve(ctx, l, handler, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate})
		}()
		b.Cleanup(func() { cancel(); <-done })
		return "https://" + l.Addr().String() + registration.MutatePodPath
	}
	ginURL, bareURL := serve(engine), serve(bare)
	client := func(h2, keepAlive, resume bool) *http.Client {
		tc := &tls.Config{RootCAs: pool}
		if resume {
			tc.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		}
		t := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: h2, DisableKeepAlives: !keepAlive}
		if !h2 {
			t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		b.Cleanup(t.CloseIdleConnections)
		return &http.Client{Timeout: 30 * time.Second, Transport: t}
	}
	cases := []struct {
		name string
		c    *http.Client
		url  string
		h2   bool
		lat  []time.Duration
		cpu  time.Duration
	}{
		{name: "HTTP/2, kept-alive TLS (gin)", c: client(true, true, false), url: ginURL, h2: true},
		{name: "HTTP/1.1, kept-alive TLS (gin)", c: client(false, true, false), url: ginURL},
		{name: "HTTP/2, kept-alive TLS (bare endpoint)", c: client(true, true, false), url: bareURL, h2: true},
		{name: "HTTP/1.1, kept-alive TLS (bare endpoint)", c: client(false, true, false), url: bareURL},
		{name: "HTTP/1.1, new TLS connection, resumed", c: client(false, false, true), url: ginURL},
		{name: "HTTP/1.1, new TLS connection, full handshake", c: client(false, false, false), url: ginURL},
	}
	body := offReview(b)
	post := func(c *http.Client, url string, h2 bool) {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || (resp.ProtoMajor == 2) != h2 {
			b.Fatalf("%s: %s %s", url, resp.Proto, resp.Status)
		}
	}
	const block, rounds = 200, 5
	for b.Loop() {
		for i := range cases {
			cases[i].lat, cases[i].cpu = nil, 0
			post(cases[i].c, cases[i].url, cases[i].h2) // connect
		}
		for range rounds {
			for i := range cases {
				c := &cases[i]
				cpu0 := cputime.Process()
				for range block {
					start := time.Now()
					post(c.c, c.url, c.h2)
					c.lat = append(c.lat, time.Since(start))
				}
				c.cpu += cputime.Process() - cpu0
			}
		}
	}
	fmt.Printf("one review at a time over loopback TLS, %d reviews each (latency; CPU of client and server):\n", block*rounds)
	for _, c := range cases {
		slices.Sort(c.lat)
		fmt.Printf("  %-46s p50 %7v  p99 %7v  CPU %6v/review\n", c.name+":",
			c.lat[len(c.lat)/2].Round(time.Microsecond), c.lat[len(c.lat)*99/100].Round(time.Microsecond),
			(c.cpu / time.Duration(len(c.lat))).Round(time.Microsecond))
	}
}

// offReview is a review of an unannotated pod, as the apiserver sends it.
func offReview(b *testing.B) []byte {
	pod, err := json.Marshal(&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}})
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Operation: admissionv1.Create, Namespace: "default", Object: runtime.RawExtension{Raw: pod}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}
