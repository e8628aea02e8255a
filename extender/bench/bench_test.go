package bench

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
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

// newExtender is railnet's extender handler over the store; reference:
// deciding every request from scratch (state.Decider.Reference), what the
// extender did before it kept anything across requests.
func newExtender(store state.Store, reference bool) http.Handler {
	d := state.NewDecider(store, 2*time.Minute, 30*time.Second, placement.DefaultTopology)
	d.Reference = reference
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
	// first is the first cycle's wall time (its filter, then its
	// prioritize, in the extender's first requests): what the extender
	// keeps across cycles is empty then. The timed cycles come after it.
	first time.Duration
}

func newBodies(tb testing.TB, h http.Handler, p *corev1.Pod, names []string) bodies {
	var b bodies
	b.filter = marshal(tb, extenderv1.ExtenderArgs{Pod: p, NodeNames: &names})
	var fr extenderv1.ExtenderFilterResult
	start := time.Now()
	rec := serve(tb, h, "/filter", b.filter)
	b.first = time.Since(start)
	decode(tb, rec, &fr)
	if fr.NodeNames == nil || fr.Error != "" {
		tb.Fatalf("filter: %+v", fr.Error)
	}
	b.passed = len(*fr.NodeNames)
	b.prioritize = marshal(tb, extenderv1.ExtenderArgs{Pod: p, NodeNames: fr.NodeNames})
	start = time.Now()
	serve(tb, h, "/prioritize", b.prioritize)
	b.first += time.Since(start)
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
	// bodies are the answers' buffers, kept across cycles: a real server
	// writes an answer to its connection, and a recorder's buffer grown
	// anew for every ~100 KB answer would add garbage no extender makes.
	bodies [2]bytes.Buffer
	durs   []time.Duration
	// cpus are the cycles' thread CPU times, as durs.
	cpus   []time.Duration
	allocs uint64
	// cpu is the time the benchmark's thread ran, which the machine's other
	// load does not inflate the way it does wall time.
	cpu time.Duration
	// checked are the last answers decoded and checked: an answer equal
	// to them byte for byte needs no decoding, whose garbage (~1 MB a
	// cycle for the three extenders) would otherwise set how often the
	// collector runs during the extenders' cycles.
	checked [2][]byte
	// gcs counts collections that ended during timed cycles.
	gcs uint32
}

// run times one cycle (filter, then prioritize) and checks the answers
// after the clock stops. The cycle starts after a collection: the bench's
// extenders share one heap, where the reference's and the pass-through's
// garbage (~4.7 MB a cycle between them) would set off collections during
// railnet's cycles (~100 KB a cycle: in its own process, with ~180 MB
// held at 5,000 nodes, one collection every ~1,800 cycles). A collection
// its own cycle sets off still counts (gcs).
func (s *sample) run(tb testing.TB, h http.Handler, b bodies) {
	runtime.GC()
	freq := httptest.NewRequest(http.MethodPost, "/filter", bytes.NewReader(b.filter))
	preq := httptest.NewRequest(http.MethodPost, "/prioritize", bytes.NewReader(b.prioritize))
	frec, prec := s.recorder(0), s.recorder(1)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	runtime.LockOSThread()
	cpu := cputime.Thread()
	start := time.Now()
	h.ServeHTTP(frec, freq)
	h.ServeHTTP(prec, preq)
	s.durs = append(s.durs, time.Since(start))
	s.cpus = append(s.cpus, cputime.Thread()-cpu)
	s.cpu += s.cpus[len(s.cpus)-1]
	runtime.UnlockOSThread()
	runtime.ReadMemStats(&m1)
	s.allocs += m1.Mallocs - m0.Mallocs
	s.gcs += m1.NumGC - m0.NumGC
	if frec.Code != http.StatusOK || prec.Code != http.StatusOK {
		tb.Fatalf("HTTP %d %d: %s %s", frec.Code, prec.Code, frec.Body, prec.Body)
	}
	if bytes.Equal(frec.Body.Bytes(), s.checked[0]) && bytes.Equal(prec.Body.Bytes(), s.checked[1]) {
		return
	}
	s.checked = [2][]byte{bytes.Clone(frec.Body.Bytes()), bytes.Clone(prec.Body.Bytes())}
	var fr extenderv1.ExtenderFilterResult
	var pr extenderv1.HostPriorityList
	decode(tb, frec, &fr)
	decode(tb, prec, &pr)
	if fr.NodeNames == nil || len(*fr.NodeNames) != b.passed || len(pr) != b.passed {
		tb.Fatalf("filter passed %v nodes, prioritize answered %d, want %d", fr.NodeNames != nil, len(pr), b.passed)
	}
}

// recorder is httptest.NewRecorder writing into the sample's body buffer i.
func (s *sample) recorder(i int) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.bodies[i].Reset()
	rec.Body = &s.bodies[i]
	return rec
}

func (s *sample) pct(q float64) time.Duration { return pct(s.durs, q) }

func pct(durs []time.Duration, q float64) time.Duration {
	d := slices.Clone(durs)
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// The goals (issue 16) the benchmark prints its figures against.
const (
	goalP99At5k       = 5 * time.Millisecond // filter+prioritize at 5,000 nodes, JSON included
	goalP50At1k       = time.Millisecond
	goalRatio         = 1.5 // CPU per cycle over the pass-through extender's, at 5,000 nodes
	goalRSSMiB        = 256 // the extender with 5,000 nodes cached
	goalNodes, smallN = 5000, 1000
)

// BenchmarkFilterPrioritize runs one scheduling cycle (filter + prioritize
// over every node, request bodies built beforehand) per iteration,
// interleaving the railnet extender, the same extender deciding every
// request from scratch (reference: the computation before it kept anything
// across requests) and the pass-through baseline so all see the same
// machine load, and reports p50/p99 latency, CPU and allocations per cycle
// and the ratios to the baseline, with the goals and whether each is met.
// It then prints the memory the extender holds with the cluster cached.
// The extenders read the cluster from the extender's own store
// (cachedCluster), as the extender's process does.
func BenchmarkFilterPrioritize(b *testing.B) {
	for _, n := range []int{smallN, goalNodes} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			heap0 := heapInUse()
			store, names, p, objects := cachedCluster(b, n)
			heapCluster := heapInUse()
			// The first cycle (newBodies) fills the pools' address counts,
			// the node table and the remembered verdicts and scores, which
			// the extender then keeps until what they follow changes; it is
			// printed apart ("first").
			ext := newExtender(store, false)
			eb := newBodies(b, ext, p, names)
			heapExt := heapInUse()
			ref, base := newExtender(store, true), baseline()
			rb, bb := newBodies(b, ref, p, names), newBodies(b, base, p, names)
			heapOthers := heapInUse() - heapExt
			var e, r, bl sample
			var gc0, gc1 runtime.MemStats
			runtime.ReadMemStats(&gc0)
			b.ResetTimer()
			for range b.N {
				bl.run(b, base, bb)
				e.run(b, ext, eb)
				r.run(b, ref, rb)
			}
			b.StopTimer()
			runtime.ReadMemStats(&gc1)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(e.pct(0.5)), "p50-ms")
			b.ReportMetric(ms(e.pct(0.99)), "p99-ms")
			b.ReportMetric(ms(e.cpu/time.Duration(b.N)), "cpu-ms/cycle")
			b.ReportMetric(float64(e.allocs)/float64(b.N), "allocs/cycle")
			b.ReportMetric(float64(e.cpu)/float64(bl.cpu), "x-base-cpu")
			b.ReportMetric(float64(r.cpu)/float64(bl.cpu), "ref-x-base-cpu")
			fmt.Printf("nodes=%d passed=%d cycles=%d (each extender in turn, one cycle at a time, each after a collection of the heap they share); %d collections ran meanwhile, %.0f ms of pauses\n",
				n, eb.passed, b.N, gc1.NumGC-gc0.NumGC, float64(gc1.PauseTotalNs-gc0.PauseTotalNs)/1e6)
			for _, row := range []struct {
				name  string
				s     *sample
				first time.Duration
			}{{"railnet", &e, eb.first}, {"reference", &r, rb.first}, {"pass-through", &bl, bb.first}} {
				fmt.Printf("  %-12s first %6.2fms p50 %6.2fms p99 %6.2fms cpu %6.2fms/cycle (p99 %6.2fms) %6d allocs/cycle %3d GCs ended in its cycles | x pass-through: cpu %.2f p50 %.2f p99 %.2f\n",
					row.name, ms(row.first), ms(row.s.pct(0.5)), ms(row.s.pct(0.99)), ms(row.s.cpu/time.Duration(b.N)), ms(pct(row.s.cpus, 0.99)), row.s.allocs/uint64(b.N), row.s.gcs,
					float64(row.s.cpu)/float64(bl.cpu), float64(row.s.pct(0.5))/float64(bl.pct(0.5)), float64(row.s.pct(0.99))/float64(bl.pct(0.99)))
			}
			goal := func(what string, got, want float64, unit string) {
				verdict := "met"
				if got > want {
					verdict = "NOT met"
				}
				fmt.Printf("  goal %-40s %8.2f%s (goal <= %g%s): %s\n", what, got, unit, want, unit, verdict)
			}
			switch n {
			case goalNodes: // the issue sets the ratio goal at 5,000 nodes
				goal("railnet CPU / pass-through CPU", float64(e.cpu)/float64(bl.cpu), goalRatio, "x")
				goal("railnet p99 (wall clock, JSON included)", ms(e.pct(0.99)), ms(goalP99At5k), " ms")
			case smallN:
				goal("railnet p50 (wall clock, JSON included)", ms(e.pct(0.5)), ms(goalP50At1k), " ms")
			}
			if b.N > 1 {
				printMemory(n, objects, memory{heap0, heapCluster, heapExt, heapOthers}, goal)
			}
			runtime.KeepAlive(ext)
			runtime.KeepAlive(ref)
		})
	}
}

// BenchmarkExtenderCycle runs railnet's extender alone, one cycle (filter
// and prioritize) per iteration without checking the answers: the
// benchmark to profile (-cpuprofile) what the extender spends its time on.
func BenchmarkExtenderCycle(b *testing.B) {
	for _, n := range []int{smallN, goalNodes} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			store, names, p, _ := cachedCluster(b, n)
			ext := newExtender(store, false)
			body := newBodies(b, ext, p, names)
			var answers sample // its answer buffers alone
			b.ReportAllocs()
			if *cycleProfile != "" {
				stop := startProfile(b, fmt.Sprintf(*cycleProfile, n))
				defer stop()
			}
			b.ResetTimer()
			for range b.N {
				for i, req := range []struct {
					path string
					body []byte
				}{{"/filter", body.filter}, {"/prioritize", body.prioritize}} {
					ext.ServeHTTP(answers.recorder(i), httptest.NewRequest(http.MethodPost, req.path, bytes.NewReader(req.body)))
				}
			}
		})
	}
}

var cycleProfile = flag.String("cycleprofile", "",
	"BenchmarkExtenderCycle writes a CPU profile of its cycles alone (the cluster's setup left out) to this file; "+
		"%d in it is the number of nodes (make bench-extender prints its top entries with go tool pprof)")

var heapProfile = flag.String("heapprofile", "",
	"BenchmarkFilterPrioritize writes a heap profile, taken with the cluster and the extenders held, to this file; "+
		"%d in it is the number of nodes (go tool pprof -sample_index=inuse_space)")

// writeHeapProfile writes the heap as of the last collection to file.
func writeHeapProfile(file string) {
	f, err := os.Create(file)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Printf("  heap profile: %v\n", err)
	}
}

// startProfile starts a CPU profile into file; the returned func stops it.
func startProfile(b *testing.B, file string) func() {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("profile the cycles: %v (run without -cpuprofile)", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// heapInUse is the Go heap in use after a collection.
func heapInUse() uint64 {
	debug.FreeOSMemory() // collects, and returns what garbage held
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// memory is the heap in use at the benchmark's stages.
type memory struct {
	// before the cluster was built, with the cluster (objects, store
	// indexes and node facts), with railnet's extender after its first
	// cycle; others is what the reference extender and the pass-through
	// added, which a real extender process does not hold.
	before, cluster, extender, others uint64
}

// printMemory prints the Go heap in use after a collection, what of it the
// cluster's objects and the extender's own books hold, and the process's
// resident set; the goal is judged on the resident set less what this
// process holds and the extender's would not (the other two handlers). The
// objects are held as the extender holds them: by its own store, over
// informers built with its cache options (cachedCluster).
func printMemory(n int, objects counts, m memory, goal func(what string, got, want float64, unit string)) {
	heap := heapInUse()
	rss := -1.0
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				if kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 64); err == nil {
					rss = kb / 1024
				}
			}
		}
	}
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	if *heapProfile != "" {
		writeHeapProfile(fmt.Sprintf(*heapProfile, n))
	}
	fmt.Printf("  memory with %d Nodes, %d RDMANodes, %d pods, %d IPAllocations cached: heap in use %.0f MiB (cluster objects, store indexes and node facts %.0f, railnet extender's own books %.0f, reference extender and pass-through %.0f); process RSS %.0f MiB\n",
		objects.nodes, objects.rdmaNodes, objects.pods, objects.allocs, mib(heap), mib(m.cluster-m.before), mib(m.extender-m.cluster), mib(m.others), rss)
	if n == goalNodes {
		goal("extender RSS (process RSS less the others)", rss-mib(m.others), goalRSSMiB, " MiB")
	}
}
