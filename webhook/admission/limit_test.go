package admission

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// largeReview is a pod review of about size bytes (a large annotation),
// below MaxBodyBytes.
func largeReview(tb testing.TB, size int) []byte {
	tb.Helper()
	pod := seedPod(map[string]string{"example.com/blob": strings.Repeat("x", size-1024)})
	b := review(tb, "big", podKind, admissionv1.Create, "default", "", pod, nil)
	if len(b) > MaxBodyBytes {
		tb.Fatalf("review of %d bytes exceeds MaxBodyBytes", len(b))
	}
	return b
}

type result struct {
	code       int
	body       string
	retryAfter string
}

func postURL(t testing.TB, url string, body []byte) result {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return result{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("Retry-After")}
}

// TestLimitLargeReviews fires 16 concurrent 7 MB reviews at a webhook with
// the service's budget while the admitted ones are held inside the
// handler: exactly three are admitted (3 × 7 MB fill the budget), the
// other thirteen are answered 429 with Retry-After before their bodies are
// read, and once the admitted ones finish the budget is whole again.
func TestLimitLargeReviews(t *testing.T) {
	body := largeReview(t, 7_000_000)
	h := &Handler{Store: seedStore()}
	entered, release := make(chan struct{}, 16), make(chan struct{})
	gated := func(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		entered <- struct{}{}
		<-release
		return h.Mutate(ctx, req)
	}
	srv := httptest.NewServer(Limit(NewBudget(DefaultBudgetBytes), Endpoint("mutate", gated, nil)))
	defer srv.Close()

	const n = 16
	results := make(chan result, n)
	for range n {
		go func() { results <- postURL(t, srv.URL, body) }()
	}
	admitted := 0
	var done []result
	for admitted+len(done) < n {
		select {
		case <-entered:
			admitted++
		case r := <-results:
			done = append(done, r)
		}
	}
	close(release)
	for range admitted {
		done = append(done, <-results)
	}
	codes := map[int]int{}
	for _, r := range done {
		codes[r.code]++
		if r.code == http.StatusTooManyRequests {
			want := fmt.Sprintf("railnet webhook is busy: admission reviews in flight hold its %d-byte budget; retry in 1 s", DefaultBudgetBytes)
			if r.body != want || r.retryAfter != "1" {
				t.Errorf("429 = %q (Retry-After %q), want %q (Retry-After 1)", r.body, r.retryAfter, want)
			}
		}
	}
	if admitted != 3 || codes[http.StatusOK] != 3 || codes[http.StatusTooManyRequests] != 13 {
		t.Errorf("admitted %d, codes %v; want 3 admitted, 3×200 and 13×429", admitted, codes)
	}
	// The budget is whole again (a leaked reservation would refuse these).
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 3 {
		wg.Go(func() {
			if r := postURL(t, srv.URL, body); r.code == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	for range 3 {
		<-entered
	}
	if ok.Load() != 3 {
		t.Errorf("after release: %d of 3 admitted", ok.Load())
	}
}

// TestLimitDeclaredTooLarge refuses a body declared larger than
// MaxBodyBytes before reading it, and reserves MaxBodyBytes for a body of
// unknown length.
func TestLimitDeclaredTooLarge(t *testing.T) {
	b := NewBudget(0)
	if b.limit != MaxBodyBytes {
		t.Fatalf("NewBudget(0).limit = %d, want MaxBodyBytes", b.limit)
	}
	var served atomic.Int32
	ep := Limit(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	r := httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader("{}"))
	r.ContentLength = MaxBodyBytes + 1
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || strings.TrimSpace(w.Body.String()) != "request body exceeds 7340032 bytes" || served.Load() != 0 {
		t.Errorf("declared too large: %d %q, served %d", w.Code, w.Body.String(), served.Load())
	}
	// Unknown length takes the whole of a MaxBodyBytes budget: a second
	// one at the same time is refused.
	hold, entered := make(chan struct{}), make(chan struct{})
	ep = Limit(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { entered <- struct{}{}; <-hold }))
	go func() {
		r := httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader("{}"))
		r.ContentLength = -1
		ep.ServeHTTP(httptest.NewRecorder(), r)
	}()
	<-entered
	w = httptest.NewRecorder()
	ep.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/mutate", strings.NewReader("{}")))
	close(hold)
	if w.Code != http.StatusTooManyRequests {
		t.Errorf("second request while an unknown-length one is served: %d, want 429", w.Code)
	}
}

// BenchmarkLargeReviews fires 16 concurrent 7 MB reviews through the real
// mutating handler, with and without the service's budget, and prints the
// peak heap of each (sampled) and the answers' status codes.
func BenchmarkLargeReviews(b *testing.B) {
	body := largeReview(b, 7_000_000)
	ep := Endpoint("mutate", (&Handler{Store: seedStore()}).Mutate, nil)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"unbounded", ep}, {"budget", Limit(NewBudget(DefaultBudgetBytes), ep)}} {
		srv := httptest.NewServer(c.h)
		var peak uint64
		codes := map[int]int{}
		for range b.N {
			runtime.GC()
			stop := make(chan struct{})
			sampled := make(chan uint64)
			go func() { sampled <- samplePeakHeap(stop) }()
			var wg sync.WaitGroup
			var mu sync.Mutex
			for range 16 {
				wg.Go(func() {
					r := postURL(b, srv.URL, body)
					mu.Lock()
					codes[r.code]++
					mu.Unlock()
				})
			}
			wg.Wait()
			close(stop)
			peak = max(peak, <-sampled)
		}
		srv.Close()
		fmt.Printf("16 concurrent 7 MB reviews, %-9s: peak heap %4d MiB, answers %v\n", c.name, peak>>20, codes)
		b.ReportMetric(float64(peak>>20), c.name+"-peak-MiB")
	}
}

// samplePeakHeap returns the largest HeapAlloc seen until stop closes.
func samplePeakHeap(stop <-chan struct{}) uint64 {
	var peak uint64
	var m runtime.MemStats
	for {
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
		select {
		case <-stop:
			return peak
		case <-time.After(time.Millisecond):
		}
	}
}
