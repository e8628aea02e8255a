package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	corev1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/railnet/railnet/extender/placement"
	"github.com/railnet/railnet/extender/server"
	"github.com/railnet/railnet/extender/state"
	"github.com/railnet/railnet/extender/state/statetest"
	"github.com/railnet/railnet/test/cputime"
)

// cluster is the benchmarks' cluster of n GPU nodes (statetest.GPUCluster)
// and the pod they schedule: one more pod of the first block's job.
func cluster(n int) (*statetest.MemStore, []string, *corev1.Pod) {
	c, names := statetest.GPUCluster(n)
	return c.MemStore, names, c.NewPod("job-0-new", map[string]string{"railnet.io/job": "job-0"})
}

// newExtender is railnet's extender handler over the store.
func newExtender(store *statetest.MemStore) http.Handler {
	d := state.NewDecider(store, 2*time.Minute, 30*time.Second, placement.DefaultTopology)
	return server.New(d, server.Options{})
}

// baseline is an extender that decodes the request and passes every node
// with score 0, with the same decoder and encoder as railnet's: what any
// extender pays for the protocol.
func baseline() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/filter", func(c *gin.Context) {
		_, names, err := server.DecodeArgs(c.Request.Body, server.DefaultMaxBodyBytes)
		if err != nil {
			c.JSON(http.StatusBadRequest, extenderv1.ExtenderFilterResult{Error: err.Error()})
			return
		}
		b, err := server.AppendFilterResult(nil, &extenderv1.ExtenderFilterResult{NodeNames: &names})
		if err != nil {
			c.JSON(http.StatusInternalServerError, extenderv1.ExtenderFilterResult{Error: err.Error()})
			return
		}
		c.Data(http.StatusOK, "application/json", b)
	})
	r.POST("/prioritize", func(c *gin.Context) {
		_, names, err := server.DecodeArgs(c.Request.Body, server.DefaultMaxBodyBytes)
		if err != nil {
			c.JSON(http.StatusBadRequest, extenderv1.ExtenderFilterResult{Error: err.Error()})
			return
		}
		out := make(extenderv1.HostPriorityList, len(names))
		for i, n := range names {
			out[i] = extenderv1.HostPriority{Host: n}
		}
		c.Data(http.StatusOK, "application/json", server.AppendPriorities(nil, out))
	})
	return r
}

// bodies are the two requests of one scheduling cycle, as the scheduler
// sends them: filter with every node, prioritize with the nodes filter
// kept. They are built once, outside the timing: the scheduler's encoding
// is not the extender's cost.
type bodies struct {
	filter, prioritize []byte
	passed             int
}

func newBodies(tb testing.TB, h http.Handler, p *corev1.Pod, names []string) bodies {
	var b bodies
	b.filter = marshal(tb, extenderv1.ExtenderArgs{Pod: p, NodeNames: &names})
	var fr extenderv1.ExtenderFilterResult
	decode(tb, serve(tb, h, "/filter", b.filter), &fr)
	if fr.NodeNames == nil || fr.Error != "" {
		tb.Fatalf("filter: %+v", fr.Error)
	}
	b.passed = len(*fr.NodeNames)
	b.prioritize = marshal(tb, extenderv1.ExtenderArgs{Pod: p, NodeNames: fr.NodeNames})
	return b
}

func marshal(tb testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// serve answers one request in process.
func serve(tb testing.TB, h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("%s: HTTP %d %s", path, rec.Code, rec.Body)
	}
	return rec
}

func decode(tb testing.TB, rec *httptest.ResponseRecorder, out any) {
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		tb.Fatal(err)
	}
}

type sample struct {
	durs   []time.Duration
	allocs uint64
	// cpu is the time the benchmark's thread ran, which the machine's other
	// load does not inflate the way it does wall time.
	cpu time.Duration
}

// run times one cycle (filter, then prioritize) and checks the answers
// after the clock stops.
func (s *sample) run(tb testing.TB, h http.Handler, b bodies) {
	freq := httptest.NewRequest(http.MethodPost, "/filter", bytes.NewReader(b.filter))
	preq := httptest.NewRequest(http.MethodPost, "/prioritize", bytes.NewReader(b.prioritize))
	frec, prec := httptest.NewRecorder(), httptest.NewRecorder()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	runtime.LockOSThread()
	cpu := cputime.Thread()
	start := time.Now()
	h.ServeHTTP(frec, freq)
	h.ServeHTTP(prec, preq)
	s.durs = append(s.durs, time.Since(start))
	s.cpu += cputime.Thread() - cpu
	runtime.UnlockOSThread()
	runtime.ReadMemStats(&m1)
	s.allocs += m1.Mallocs - m0.Mallocs
	if frec.Code != http.StatusOK || prec.Code != http.StatusOK {
		tb.Fatalf("HTTP %d %d: %s %s", frec.Code, prec.Code, frec.Body, prec.Body)
	}
	var fr extenderv1.ExtenderFilterResult
	var pr extenderv1.HostPriorityList
	decode(tb, frec, &fr)
	decode(tb, prec, &pr)
	if fr.NodeNames == nil || len(*fr.NodeNames) != b.passed || len(pr) != b.passed {
		tb.Fatalf("filter passed %v nodes, prioritize answered %d, want %d", fr.NodeNames != nil, len(pr), b.passed)
	}
}

func (s *sample) pct(q float64) time.Duration {
	d := slices.Clone(s.durs)
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// BenchmarkFilterPrioritize runs one scheduling cycle (filter + prioritize
// over every node, request bodies built beforehand) per iteration,
// interleaving the railnet extender and the pass-through baseline so both
// see the same machine load, and reports p50/p99 latency, allocations per
// cycle and the ratio to the baseline. It then prints the memory the
// benchmark process holds with the cluster cached.
func BenchmarkFilterPrioritize(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			store, names, p := cluster(n)
			ext := newExtender(store)
			base := baseline()
			// The first cycle fills the pools' address counts, which the
			// extender then keeps until a pool or allocation changes.
			eb, bb := newBodies(b, ext, p, names), newBodies(b, base, p, names)
			var e, bl sample
			b.ResetTimer()
			for range b.N {
				bl.run(b, base, bb)
				e.run(b, ext, eb)
			}
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(e.pct(0.5)), "p50-ms")
			b.ReportMetric(ms(e.pct(0.99)), "p99-ms")
			b.ReportMetric(float64(e.allocs)/float64(b.N), "allocs/cycle")
			b.ReportMetric(ms(bl.pct(0.5)), "base-p50-ms")
			b.ReportMetric(float64(bl.allocs)/float64(b.N), "base-allocs/cycle")
			b.ReportMetric(float64(e.pct(0.5))/float64(bl.pct(0.5)), "x-base-p50")
			b.ReportMetric(float64(e.cpu)/float64(bl.cpu), "x-base-cpu")
			cpu := func(s sample) float64 { return ms(s.cpu / time.Duration(b.N)) }
			fmt.Printf("nodes=%d passed=%d cycles=%d | railnet p50 %.2fms p99 %.2fms cpu %.2fms %d allocs | baseline p50 %.2fms p99 %.2fms cpu %.2fms %d allocs | ratio p50 %.2fx p99 %.2fx cpu %.2fx\n",
				n, eb.passed, b.N, ms(e.pct(0.5)), ms(e.pct(0.99)), cpu(e), e.allocs/uint64(b.N),
				ms(bl.pct(0.5)), ms(bl.pct(0.99)), cpu(bl), bl.allocs/uint64(b.N),
				float64(e.pct(0.5))/float64(bl.pct(0.5)), float64(e.pct(0.99))/float64(bl.pct(0.99)), float64(e.cpu)/float64(bl.cpu))
			if b.N > 1 {
				printMemory(n, store)
			}
		})
	}
}

// printMemory prints the Go heap in use after a collection and the
// process's resident set, with the cluster's objects cached as the
// extender's informers would hold them (slimmed as its cache slims them:
// the benchmark's objects carry only what the extender reads).
func printMemory(n int, store *statetest.MemStore) {
	debug.FreeOSMemory() // collects, and returns what the benchmark's garbage held
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss := "unknown"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				rss = strings.TrimSpace(v)
			}
		}
	}
	fmt.Printf("nodes=%d memory with %d Nodes, %d RDMANodes, %d pods, %d IPAllocations cached: heap in use %.0f MiB, process RSS %s (goal: extender <= 256 MiB at 5,000 nodes)\n",
		n, len(store.Nodes), len(store.RDMANodes), len(store.Pods), len(store.Allocs), float64(m.HeapInuse)/(1<<20), rss)
	runtime.KeepAlive(store)
}
