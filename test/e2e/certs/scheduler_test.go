package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/trust"
	"github.com/railnet/railnet/extender/schedconfig"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/monitoring"
)

// Names the chart gives release "railnet" (its RBAC grants exactly these).
const (
	chartCASecret      = "railnet-ca"
	chartBundleCM      = "railnet-extender-ca-bundle"
	chartSchedulerName = "railnet-scheduler"

	// scheduler is the profile of the secondary scheduler the test runs;
	// stale is one that is never restarted.
	schedulerName = "railnet-e2e-scheduler"
	staleName     = "railnet-e2e-stale"
	labelSched    = "certs-e2e-sched"
)

// The extender binary in self-managed HTTPS mode, with the chart's RBAC,
// called by a real kube-scheduler that verifies its certificate. Pods keep
// being scheduled (25/s) while the serving certificate is re-issued and then
// the CA rotates; none fails scheduling.
//
// kube-scheduler reads an extender's CA once, at start. The extender rolls
// the scheduler's Deployment (pod template annotation) whenever the bundle
// changes; this test plays Deployment controller and kubelet for that one
// Deployment: on a new annotation it restarts the scheduler with the bundle
// the ConfigMap holds at that moment, which is what a new pod mounts. A
// second scheduler that is never restarted shows that the roll is needed: it
// fails with an unknown authority once the new CA signs.
func TestExtenderHTTPSUnderRotationWithARealScheduler(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	deletePods(t)
	ctx := t.Context()

	dir := t.TempDir()
	kubeconfigs := cluster.ApplyChartRBAC(t, dir, "railnet", namespace, []string{"extender"}, "--set", "extender.schedulerDeployment="+chartSchedulerName)
	create(t, schedulerDeploymentObject(chartSchedulerName))
	cluster.CreateNode(t, ground.NodeSpec{Name: "certs-e2e-sched", Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("5000")}})

	httpAddr, httpsAddr := startSelfManagedExtender(t, dir, kubeconfigs["extender"],
		"--ca-bundle-configmap="+chartBundleCM, "--scheduler-deployment="+chartSchedulerName,
		"--ca-lifetime=1h", "--ca-overlap=20s", // next CA trusted 10s before it signs, the old one 10s after
		"--serving-lifetime=9s", // re-issued every 6s
		// This test is about the serving certificate and CA under rotation;
		// the client certificate has TestExtenderRequiresTheSchedulersClientCertificate.
		"--require-client-cert=false",
	)

	roll := startRollout(t, "https://"+httpsAddr)
	eventually(t, 30*time.Second, "the scheduler Deployment rolled onto the first bundle and the scheduler started", func() (bool, error) {
		return roll.starts() == 1, roll.err()
	})
	firstBundle := roll.bundle()
	stale, err := cluster.StartScheduler(ctx, ground.SchedulerSpec{Name: staleName, Extenders: []schedconfigv1.Extender{extenderEntry("https://"+httpsAddr, firstBundle)}})
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Stop()
	ca1 := caStateOf(t, chartCASecret).Current.Cert

	leaves := watchLeaves(t, httpsAddr)
	l := startPods(t, 25, func(i int) *corev1.Pod { return schedPod(fmt.Sprintf("sched-%d", i), schedulerName) },
		func(*corev1.Pod) bool { return true })

	eventually(t, 40*time.Second, "three serving certificate rotations under load", func() (bool, error) {
		return leaves.count() >= 4, nil
	})
	servingRotations := leaves.count() - 1

	caStart := time.Now()
	requestCARotation(t, chartCASecret, caStart)
	var final trust.State
	eventually(t, 90*time.Second, "the CA rotation to finish (new CA signs, old one retired, scheduler rolled onto the final bundle)", func() (bool, error) {
		final = caStateOf(t, chartCASecret)
		if final.Next != nil || final.Previous != nil || final.Current.Cert.Equal(ca1) {
			return false, nil
		}
		leaf := leaves.latest()
		return leaf != nil && pki.SignedBy(leaf, final.Current.Cert) &&
			roll.hash() == selfmanaged.BundleHash(final.Bundle()) && roll.running(), roll.err()
	})
	caRotation := time.Since(caStart)
	after := l.created.Load()
	eventually(t, 20*time.Second, "100 more pods on the new CA alone", func() (bool, error) {
		return l.created.Load() >= after+100, nil
	})
	l.stop()
	leaves.stop()

	var pods corev1.PodList
	eventually(t, 90*time.Second, "every pod bound by the secondary scheduler", func() (bool, error) {
		if err := cluster.Client.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{labelSched: schedulerName}); err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == "" {
				return false, nil
			}
		}
		return true, nil
	})
	rate := float64(l.created.Load()) / l.elapsed.Seconds()
	failed := failedScheduling(t, "sched-")
	filters := extenderRequests(t, httpAddr, "filter")
	for _, want := range []string{
		`railnet_certificate_expiry_timestamp_seconds{certificate="serving",serial="`, // re-issued every 6s: any serial
		`railnet_certificate_expiry_timestamp_seconds{certificate="ca",serial="` + fmt.Sprintf("%x", final.Current.Cert.SerialNumber) + `"`,
	} {
		if !strings.Contains(metricsText(t, httpAddr), want) {
			t.Errorf("the extender's /metrics lacks %s…", want)
		}
	}
	// The chart's dashboard panels and alerts on the extender's and the
	// certificates' metrics read what this extender exports.
	monitoring.CheckScrape(t, metricsText(t, httpAddr), 3, "railnet_extender_", "railnet_certificate_")
	roll.stop()
	t.Logf("pods created %d in %s (%.1f/s), all bound; FailedScheduling events: %d; extender filter calls answered 200: %.0f; "+
		"serving certificates seen: %d; CA rotation took %s; scheduler starts: %d at %v",
		l.created.Load(), l.elapsed.Round(time.Millisecond), rate, len(failed), filters, leaves.count(), caRotation.Round(time.Millisecond),
		roll.starts(), roll.startTimes(caStart))

	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d pod creations failed; first: %v", n, l.firstErrors)
	}
	if len(failed) > 0 {
		t.Errorf("%d FailedScheduling events during rotation; first: %s", len(failed), failed[0])
	}
	if log := roll.sched.Log(); strings.Contains(log, "x509") || strings.Contains(log, "tls:") {
		t.Errorf("the scheduler logged TLS errors:\n%s", grepLines(log, "x509", "tls:"))
	}
	if filters < float64(len(pods.Items)) {
		t.Errorf("the extender answered %.0f filter calls for %d pods: the scheduler did not call it for every pod", filters, len(pods.Items))
	}
	if rate < minRate {
		t.Errorf("pod creation rate %.1f/s is below the required %d/s", rate, minRate)
	}
	if servingRotations < 3 {
		t.Errorf("serving certificate rotated %d times, want at least 3", servingRotations)
	}
	// First bundle, both CAs (begin), the new CA alone (retire). The
	// promotion in between leaves the bundle unchanged.
	if n := roll.starts(); n != 3 {
		t.Errorf("the scheduler started %d times, want 3 (first bundle, rotation begun, old CA retired)", n)
	}

	// The control: the scheduler still trusting only the first CA.
	probe := schedPod("stale-0", staleName)
	create(t, probe)
	msg := waitFailedScheduling(t, "stale-0", 30*time.Second)
	t.Logf("the scheduler never rolled: %s", msg)
	if !strings.Contains(msg, "x509") && !strings.Contains(msg, "unknown authority") {
		t.Errorf("the stale scheduler failed with %q, want a certificate verification error", msg)
	}
}

// schedulerDeploymentObject is the chart's scheduler Deployment as far as the
// extender sees it: no controller or kubelet acts on it here.
func schedulerDeploymentObject(name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-scheduler", Image: "registry.invalid/kube-scheduler:v1"}}},
			},
		},
	}
}

// rollout plays Deployment controller and kubelet for the chart's scheduler
// Deployment: when the pod template's bundle hash changes, the scheduler is
// (re)started with the bundle the ConfigMap then holds.
type rollout struct {
	mu       sync.Mutex
	sched    *ground.Scheduler
	cur      string
	curCA    []byte
	started  []time.Time
	firstErr error
	up       bool
	stop     func()
}

func startRollout(t *testing.T, url string) *rollout {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rollout{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := r.step(ctx, url); err != nil {
				r.mu.Lock()
				if r.firstErr == nil {
					r.firstErr = err
				}
				r.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(func() {
		r.stop()
		if r.sched != nil {
			r.sched.Stop()
		}
	})
	return r
}

func (r *rollout) step(ctx context.Context, url string) error {
	var dep appsv1.Deployment
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: chartSchedulerName}, &dep); err != nil {
		return err
	}
	hash := dep.Spec.Template.Annotations[selfmanaged.AnnotationBundleHash]
	if hash == "" || hash == r.hash() {
		return nil
	}
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: chartBundleCM}, &cm); err != nil {
		return err
	}
	bundle := []byte(cm.Data[selfmanaged.ConfigMapKey])
	if got := selfmanaged.BundleHash(bundle); got != hash {
		return fmt.Errorf("the Deployment was rolled onto bundle %s while ConfigMap %s holds bundle %s: new pods would mount the old bundle", hash, chartBundleCM, got)
	}
	r.mu.Lock()
	r.up = false
	r.mu.Unlock()
	ext := []schedconfigv1.Extender{extenderEntry(url, bundle)}
	var err error
	if r.sched == nil {
		r.sched, err = cluster.StartScheduler(ctx, ground.SchedulerSpec{Name: schedulerName, Extenders: ext})
	} else {
		err = r.sched.Restart(ctx, ext)
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur, r.curCA, r.up = hash, bundle, true
	r.started = append(r.started, time.Now())
	return nil
}

func (r *rollout) hash() string   { r.mu.Lock(); defer r.mu.Unlock(); return r.cur }
func (r *rollout) bundle() []byte { r.mu.Lock(); defer r.mu.Unlock(); return r.curCA }
func (r *rollout) running() bool  { r.mu.Lock(); defer r.mu.Unlock(); return r.up }
func (r *rollout) starts() int    { r.mu.Lock(); defer r.mu.Unlock(); return len(r.started) }
func (r *rollout) err() error     { r.mu.Lock(); defer r.mu.Unlock(); return r.firstErr }

// startTimes are the starts relative to t0.
func (r *rollout) startTimes(t0 time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.started {
		out = append(out, s.Sub(t0).Round(100*time.Millisecond).String())
	}
	return out
}

// extenderEntry is the chart's extender entry (no managed resources: every
// pod goes through it) trusting bundle.
func extenderEntry(url string, bundle []byte) schedconfigv1.Extender {
	return schedconfig.Extender(schedconfig.Options{URLPrefix: url, TLS: &schedconfigv1.ExtenderTLSConfig{CAData: bundle}})
}

func schedPod(name, scheduler string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "certs-e2e", labelSched: scheduler}},
		Spec: corev1.PodSpec{
			SchedulerName: scheduler,
			Containers:    []corev1.Container{{Name: "c", Image: "registry.invalid/pause:1"}},
		},
	}
}

// startSelfManagedExtender builds the extender and runs it (startExtenderBinary)
// as the chart does in self-managed HTTPS mode: on free HTTP and HTTPS
// addresses, with kubeconfig, namespace, the chart's Service and CA Secret,
// 127.0.0.1 among its names, and args. It returns once /healthz answers
// 200, with the two addresses.
func startSelfManagedExtender(t *testing.T, dir, kubeconfig string, args ...string) (httpAddr, httpsAddr string) {
	t.Helper()
	bin := ground.BuildCommandsT(t, "./extender")
	httpAddr, httpsAddr = freeAddr(t), freeAddr(t)
	startExtenderBinary(t, bin, filepath.Join(dir, "extender.log"), append([]string{
		"--kubeconfig=" + kubeconfig,
		"--http-address=" + httpAddr, "--https-address=" + httpsAddr,
		"--namespace=" + namespace, "--service=railnet-extender", "--ca-secret=" + chartCASecret,
		"--extra-sans=127.0.0.1",
	}, args...)...)
	eventually(t, 60*time.Second, "the extender's /healthz", func() (bool, error) {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return httpAddr, httpsAddr
}

// startExtenderBinary runs the extender until the test ends; its log goes to
// logPath and is shown when the test fails.
func startExtenderBinary(t *testing.T, bin, logPath string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "extender"), append(args, "--v=2")...)
	cmd.Stdout, cmd.Stderr = logf, logf
	t.Cleanup(func() {
		// Runs after the process is stopped (cleanups run last first).
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("extender log:\n%s", tailLines(string(b), 60))
		}
	})
	ground.StartCommand(t, cmd, 15*time.Second)
}

// leafWatch records every distinct serving certificate a server presents.
type leafWatch struct {
	mu     sync.Mutex
	seen   map[string]bool
	last   *x509.Certificate
	cancel context.CancelFunc
	done   chan struct{}
}

func watchLeaves(t *testing.T, addr string) *leafWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &leafWatch{seen: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // only reads which certificate is served
		for ctx.Err() == nil {
			cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
			conn, err := d.DialContext(cctx, "tcp", addr)
			ccancel()
			if err == nil {
				leaf := conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
				conn.Close()
				w.mu.Lock()
				w.seen[leaf.SerialNumber.String()] = true
				w.last = leaf
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *leafWatch) stop() { w.cancel(); <-w.done }
func (w *leafWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}
func (w *leafWatch) latest() *x509.Certificate { w.mu.Lock(); defer w.mu.Unlock(); return w.last }

func caStateOf(t *testing.T, secret string) trust.State {
	t.Helper()
	var sec corev1.Secret
	if err := cluster.Client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: secret}, &sec); err != nil {
		t.Fatalf("read the CA Secret: %v", err)
	}
	st, errs := trust.Decode(sec.Data)
	if len(errs) > 0 || st.Current == nil {
		t.Fatalf("CA Secret %s does not hold a CA: %v", secret, errs)
	}
	return st
}

// failedScheduling lists the FailedScheduling events of pods named prefix*.
func failedScheduling(t *testing.T, prefix string) []string {
	t.Helper()
	var evs corev1.EventList
	if err := cluster.Client.List(t.Context(), &evs, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs.Items {
		if e.Reason == "FailedScheduling" && strings.HasPrefix(e.InvolvedObject.Name, prefix) {
			out = append(out, e.InvolvedObject.Name+": "+e.Message)
		}
	}
	return out
}

func waitFailedScheduling(t *testing.T, pod string, timeout time.Duration) string {
	t.Helper()
	var msg string
	eventually(t, timeout, "a FailedScheduling event for pod "+pod, func() (bool, error) {
		for _, m := range failedScheduling(t, pod) {
			if strings.HasPrefix(m, pod+": ") {
				msg = strings.TrimPrefix(m, pod+": ")
				return true, nil
			}
		}
		return false, nil
	})
	return msg
}

// metricsText is the extender's /metrics page.
func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("extender metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("extender metrics: %v", err)
	}
	return string(b)
}

// extenderRequests reads railnet_extender_requests_total{verb, code="200"}.
func extenderRequests(t *testing.T, addr, verb string) float64 {
	t.Helper()
	for _, line := range strings.Split(metricsText(t, addr), "\n") {
		if strings.HasPrefix(line, "railnet_extender_requests_total{") && strings.Contains(line, `code="200"`) && strings.Contains(line, `verb="`+verb+`"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func grepLines(s string, subs ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(line, sub) {
				out = append(out, line)
				break
			}
		}
	}
	return tailLines(strings.Join(out, "\n"), 20)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
