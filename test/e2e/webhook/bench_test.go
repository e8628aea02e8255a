package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/poll"
	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/store"
)

// BenchmarkWebhook measures, in one run (make bench-webhook):
//  1. the admission handler in-process, reading the real informer cache of
//     the test apiserver: reviews/s for a pod injected with the seed's eight
//     rails, against an unannotated pod through the same endpoint;
//  2. pod-create latency through the real apiserver, p50/p99 and ratios,
//     of the same annotated pod created in turn where no webhook applies,
//     where a webhook doing no work answers with no patch, where it answers
//     with railnet's patch (the floor of any mutating webhook injecting
//     the same), and where railnet's webhook injects the eight rails;
//  3. the webhook process under a burst of reviews over HTTPS: rate, RSS
//     and peak RSS.
func BenchmarkWebhook(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	setConfig(b, "  enabled: true\n")
	cluster.EnsureNamespace(b, "spiderpool")
	cluster.EnsureNamespace(b, "bench")
	applied, err := cluster.Apply(ctx, seedObjects(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, u := range applied {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})

	// 1. In-process.
	c, err := cache.New(cluster.Config, cache.Options{Scheme: cluster.Client.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	st := store.New(c, client.ObjectKey{Namespace: configNS, Name: configName})
	h := &admission.Handler{Store: st}
	ep := admission.Endpoint("mutate", h.Mutate, nil)
	injected := reviewBody(b, map[string]string{rdmaKey: "rdma-network"})
	plain := reviewBody(b, nil)
	resp := serve(b, ep, injected)
	if len(resp.Patch) == 0 {
		b.Fatalf("8-rail review produced no patch: %+v", resp.Result)
	}
	// testing.Benchmark cannot run inside a benchmark (it takes the same
	// lock), so time fixed blocks by hand, alternating the two cases.
	const block = 2000
	var nsBase, nsRails time.Duration
	var allocBase, allocRails uint64
	for range 5 {
		d, a := timeReviews(ep, plain, block)
		nsBase, allocBase = nsBase+d, allocBase+a
		d, a = timeReviews(ep, injected, block)
		nsRails, allocRails = nsRails+d, allocRails+a
	}
	total := 5 * block
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(total) }
	fmt.Printf("in-process handler (real informer cache, %d reviews each):\n", total)
	fmt.Printf("  baseline (unannotated pod): %10.0f reviews/s  %8.0f ns/review  %6d allocs/review\n", 1e9/per(nsBase), per(nsBase), allocBase/uint64(total))
	fmt.Printf("  8-rail injection:           %10.0f reviews/s  %8.0f ns/review  %6d allocs/review\n", 1e9/per(nsRails), per(nsRails), allocRails/uint64(total))
	fmt.Printf("  cost ratio 8-rail/baseline: %.2fx\n", per(nsRails)/per(nsBase))

	// 2. Through the apiserver: four namespaces, the same annotated pod
	// created in each in turn, so every variant sees the same machine.
	// railnet's pod webhooks see namespace bench only; a replay webhook
	// (no work) sees bench-null (answers with no patch) and bench-replay
	// (answers with railnet's patch for this pod); bench-none has none.
	ann := map[string]string{rdmaKey: "rdma-network"}
	injectedCheck := func(want bool) func(*corev1.Pod) error {
		return func(p *corev1.Pod) error {
			if got := p.Annotations["k8s.v1.cni.cncf.io/networks"] == seedStep4Networks; got != want {
				return fmt.Errorf("pod %s/%s: injected %v, want %v", p.Namespace, p.Name, got, want)
			}
			return nil
		}
	}
	variants := []struct {
		name, ns string
		check    func(*corev1.Pod) error
		lat      []time.Duration
	}{
		{name: "no webhook registered:     ", ns: "bench-none", check: injectedCheck(false)},
		{name: "webhook doing nothing:     ", ns: "bench-null", check: injectedCheck(false)},
		{name: "replaying railnet's patch: ", ns: "bench-replay", check: injectedCheck(true)},
		{name: "railnet's webhook, 8 rails:", ns: "bench", check: injectedCheck(true)},
	}
	for _, v := range variants {
		cluster.EnsureNamespace(b, v.ns)
	}
	wh := startWebhook(b)
	var mwc admissionregv1.MutatingWebhookConfiguration
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: regName}, &mwc); err != nil {
		b.Fatal(err)
	}
	onlyNamespaces(&mwc, "bench")
	if err := cluster.Client.Update(ctx, &mwc); err != nil {
		b.Fatal(err)
	}
	replay := startReplay(b, "bench-replay", "bench-null", "bench-replay")
	// The replayed patch is railnet's for the pod as the apiserver sends
	// it (defaulted), not for the benchmark's own encoding of it: a patch
	// that undid a default would make the apiserver call again.
	poll.Until(b, 30*time.Second, "a review reaches the replay webhook", func() error {
		if _, err := probePod(ctx, "bench-replay", ann); err != nil {
			return err
		}
		if replay.FirstReview() == nil {
			return fmt.Errorf("no review yet")
		}
		return nil
	})
	replay.SetPatch(serve(b, ep, replay.FirstReview()).Patch)
	poll.Until(b, 30*time.Second, "registrations in effect", func() error {
		for _, v := range variants {
			before := replay.Reviews(v.ns)
			p, err := probePod(ctx, v.ns, ann)
			if err != nil {
				return err
			}
			if err := v.check(p); err != nil {
				return err
			}
			if reached, want := replay.Reviews(v.ns) > before, v.ns == "bench-null" || v.ns == "bench-replay"; reached != want {
				return fmt.Errorf("namespace %s: replay webhook reached %v, want %v", v.ns, reached, want)
			}
		}
		return nil
	})
	const n, warm = 100, 10
	for i := range n + warm {
		for k := range variants {
			v := &variants[(i+k)%len(variants)]
			p := newPod(v.ns, "bench-", ann)
			start := time.Now()
			if err := cluster.Client.Create(ctx, p); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			if err := v.check(p); err != nil {
				b.Fatal(err)
			}
			if i >= warm {
				v.lat = append(v.lat, d)
			}
		}
	}
	for _, v := range variants {
		_ = cluster.Client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(v.ns), client.GracePeriodSeconds(0))
	}
	call, handler, calls := webhookTimes(b, wh)
	replayCall, replayCalls := apiserverCall(b, "pods.replay.railnet.io")
	rate, rss, hwm := loadWebhook(b, wh, injected)
	wh.Stop()
	p50a, p99a := percentiles(variants[0].lat)
	fmt.Printf("pod create through the apiserver (%d pods each, after %d warm-up, variants in turn; ratio to no webhook, goal for railnet <= 1.15x):\n", n, warm)
	for _, v := range variants {
		p50, p99 := percentiles(v.lat)
		fmt.Printf("  %s p50 %8v (%.2fx)  p99 %8v (%.2fx)\n", v.name, p50.Round(10*time.Microsecond), float64(p50)/float64(p50a),
			p99.Round(10*time.Microsecond), float64(p99)/float64(p99a))
	}
	fmt.Println("  (\"doing nothing\" and \"replaying\" are the floor any mutating webhook pays through the apiserver: a server that only\n" +
		"   reads the review's uid and namespace, registered as railnet's; railnet's own share is its row minus the replay row)")
	fmt.Printf("  where the added time goes (means over %d calls): apiserver's webhook call %v, of it in the webhook's handler %v\n",
		calls, call.Round(10*time.Microsecond), handler.Round(10*time.Microsecond))
	fmt.Printf("  the replay webhook's calls (both namespaces, means over %d calls): %v\n", replayCalls, replayCall.Round(10*time.Microsecond))
	fmt.Printf("webhook process under load (%d 8-rail reviews over HTTPS, %d at once): %.0f reviews/s; RSS %d MiB, peak RSS %d MiB (goal <= 64 MiB)\n",
		loadReviews, loadClients, rate, rss>>20, hwm>>20)
}

const loadReviews, loadClients = 4000, 16

// loadWebhook sends loadReviews copies of body to the webhook process from
// loadClients clients at once, and returns the rate and the process's RSS
// and peak RSS (VmRSS, VmHWM) after.
func loadWebhook(b *testing.B, p *webhookProc, body []byte) (rate float64, rss, hwm uint64) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: loadClients, ForceAttemptHTTP2: true}}
	defer c.CloseIdleConnections()
	next := make(chan struct{}, loadReviews)
	for range loadReviews {
		next <- struct{}{}
	}
	close(next)
	var failed atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	for range loadClients {
		wg.Go(func() {
			for range next {
				resp, err := c.Post("https://"+p.addr+"/mutate-pod", "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d reviews failed", n, loadReviews)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		var kb uint64
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			rss = kb << 10
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			hwm = kb << 10
		}
	}
	return float64(loadReviews) / d.Seconds(), rss, hwm
}

// timeReviews serves body n times and returns the time taken and the heap
// allocations made.
func timeReviews(h http.Handler, body []byte, n int) (time.Duration, uint64) {
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	start := time.Now()
	for range n {
		r := httptest.NewRequest(http.MethodPost, "/mutate-pod", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	d := time.Since(start)
	goruntime.ReadMemStats(&after)
	return d, after.Mallocs - before.Mallocs
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*50/100], s[len(s)*99/100]
}

func reviewBody(tb testing.TB, ann map[string]string) []byte {
	tb.Helper()
	raw, err := json.Marshal(newPod("bench", "bench-", ann))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("bench"), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Operation: admissionv1.Create, Namespace: "bench", Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func serve(tb testing.TB, h http.Handler, body []byte) *admissionv1.AdmissionResponse {
	tb.Helper()
	var resp *admissionv1.AdmissionResponse
	poll.Until(tb, 30*time.Second, "in-process review sees the synced cache", func() error {
		r := httptest.NewRequest(http.MethodPost, "/mutate-pod", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			return err
		}
		if !out.Response.Allowed {
			return fmt.Errorf("%s", out.Response.Result.Message)
		}
		resp = out.Response
		return nil
	})
	return resp
}

// webhookTimes returns the mean duration of the apiserver's calls to the
// pod webhook (apiserver_admission_webhook_admission_duration_seconds) and
// the mean time the webhook's mutate handler took for them
// (railnet_webhook_request_duration_seconds), with the number of calls.
func webhookTimes(b *testing.B, p *webhookProc) (call, handler time.Duration, n int) {
	call, n = apiserverCall(b, "pods.inject.railnet.io")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + p.addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	handler, _ = meanOf(string(body), "railnet_webhook_request_duration_seconds", `endpoint="mutate"`)
	return call, handler, n
}

// apiserverCall returns the mean duration of the apiserver's calls to the
// webhook named name (apiserver_admission_webhook_admission_duration_seconds)
// and their number.
func apiserverCall(b *testing.B, name string) (time.Duration, int) {
	raw, err := kubernetes.NewForConfigOrDie(cluster.Config).CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return meanOf(string(raw), "apiserver_admission_webhook_admission_duration_seconds", `name="`+name+`"`)
}

// meanOf reads histogram metric's _sum and _count from a Prometheus text
// page (the series whose labels contain label) and returns their mean.
func meanOf(page, metric, label string) (time.Duration, int) {
	var sum float64
	var count int
	for _, line := range strings.Split(page, "\n") {
		if !strings.Contains(line, label) {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		switch {
		case strings.HasPrefix(line, metric+"_sum{"):
			fmt.Sscan(fields[1], &sum)
		case strings.HasPrefix(line, metric+"_count{"):
			fmt.Sscan(fields[1], &count)
		}
	}
	if count == 0 {
		return 0, 0
	}
	return time.Duration(sum / float64(count) * float64(time.Second)), count
}
