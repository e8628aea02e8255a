package admission

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// benchBodies returns the review of the seed's 8-rail pod and of the same
// pod without the inject annotation.
func benchBodies(b testing.TB) (rails, plain []byte) {
	rdma := map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}
	rails = review(b, "u1", podKind, admissionv1.Create, "default", "", seedPod(rdma), nil)
	plain = review(b, "u1", podKind, admissionv1.Create, "default", "", seedPod(nil), nil)
	return rails, plain
}

// BenchmarkMutatePod is the mutating endpoint in process (HTTP decoding and
// encoding included, in-memory store) for the seed's 8-rail pod and for an
// unannotated pod; -benchmem shows the allocations of each.
func BenchmarkMutatePod(b *testing.B) {
	rails, plain := benchBodies(b)
	ep := Endpoint("mutate", (&Handler{Store: seedStore()}).Mutate, nil)
	for _, c := range []struct {
		name string
		body []byte
	}{{"unannotated", plain}, {"8-rail", rails}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveOnce(ep, c.body)
			}
		})
	}
}

// BenchmarkMutatePodRatio times the two pods side by side in one run,
// alternating blocks, and prints the 8-rail cost as a ratio of the
// unannotated one (goal ≤ 1.5×) with reviews/s on one goroutine (goal
// ≥ 20,000) and allocations per review.
func BenchmarkMutatePodRatio(b *testing.B) {
	rails, plain := benchBodies(b)
	ep := Endpoint("mutate", (&Handler{Store: seedStore()}).Mutate, nil)
	const block, rounds = 2000, 5
	var dPlain, dRails time.Duration
	var aPlain, aRails uint64
	for b.Loop() {
		dPlain, dRails, aPlain, aRails = 0, 0, 0, 0
		for range rounds {
			d, a := timeBlock(ep, plain, block)
			dPlain, aPlain = dPlain+d, aPlain+a
			d, a = timeBlock(ep, rails, block)
			dRails, aRails = dRails+d, aRails+a
		}
	}
	n := float64(block * rounds)
	perPlain, perRails := float64(dPlain.Nanoseconds())/n, float64(dRails.Nanoseconds())/n
	b.ReportMetric(perRails/perPlain, "ratio")
	b.ReportMetric(1e9/perRails, "8rail-reviews/s")
	b.ReportMetric(float64(aRails)/n, "8rail-allocs/review")
	b.ReportMetric(float64(aPlain)/n, "plain-allocs/review")
	fmt.Printf("in-process mutate endpoint, in-memory store, %d reviews each:\n", int(n))
	fmt.Printf("  unannotated pod: %9.0f reviews/s  %7.0f ns/review  %4.0f allocs/review\n", 1e9/perPlain, perPlain, float64(aPlain)/n)
	fmt.Printf("  8-rail pod:      %9.0f reviews/s  %7.0f ns/review  %4.0f allocs/review\n", 1e9/perRails, perRails, float64(aRails)/n)
	fmt.Printf("  ratio 8-rail/unannotated: %.2fx\n", perRails/perPlain)
}

func serveOnce(h http.Handler, body []byte) int {
	r := httptest.NewRequest(http.MethodPost, "/mutate-pod", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// timeBlock serves body n times and returns the time taken and the heap
// allocations made.
func timeBlock(h http.Handler, body []byte, n int) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range n {
		serveOnce(h, body)
	}
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	return d, after.Mallocs - before.Mallocs
}
