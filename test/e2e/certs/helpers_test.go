package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/trust"
	"github.com/railnet/railnet/test/poll"
)

const (
	namespace = "railnet-certs-e2e"
	// annotationAdmit marks the pods the test webhook is called for.
	annotationAdmit = "railnet.io/certs-e2e"
	// labelAdmitted is what the test webhook adds: a pod without it was not
	// admitted by the webhook.
	labelAdmitted = "certs-e2e-admitted"
)

// startManager runs a self-managed certificate Manager until the test ends.
func startManager(t *testing.T, opts selfmanaged.Options) *selfmanaged.Manager {
	t.Helper()
	m, err := selfmanaged.New(cluster.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := runManager(t, m)
	t.Cleanup(stop)
	return m
}

// runManager starts m and returns a function that stops it and checks that
// it stopped cleanly.
func runManager(t *testing.T, m interface{ Start(context.Context) error }) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Start(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("certificate manager stopped with: %v", err)
			}
		})
	}
}

// eventually is poll.Until for this package's conditions, which say
// whether they hold and, when not, the last error they met (nil or not).
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	poll.Until(t, timeout, what, func() error {
		if ok, err := cond(); !ok {
			return fmt.Errorf("last error: %v", err)
		}
		return nil
	})
}

// serveWebhook serves the test admission handler over TLS with certificates
// from getCert, on 127.0.0.1, and returns its address. Keep-alives are off:
// every admission is a new TLS handshake, so every one of them checks the
// certificate served at that moment against the caBundle of that moment.
func serveWebhook(t *testing.T, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), healthy func() bool) (string, *serverErrors) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", admit)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !healthy() {
			http.Error(w, "no valid serving certificate", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{GetCertificate: getCert, MinVersion: tls.VersionTLS12},
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only
	}
	errs := &serverErrors{}
	srv.ErrorLog = log.New(errs, "", 0)
	srv.SetKeepAlivesEnabled(false)
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("webhook server: %v", err)
		}
	})
	return l.Addr().String(), errs
}

// serverErrors records what the webhook server logs (failed TLS handshakes).
type serverErrors struct {
	mu    sync.Mutex
	lines []timedLine
}

type timedLine struct {
	at   time.Time
	line string
}

func (e *serverErrors) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, timedLine{time.Now(), strings.TrimSpace(string(p))})
	return len(p), nil
}

// Since returns the lines logged at or after t.
func (e *serverErrors) Since(t time.Time) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, l := range e.lines {
		if !l.at.Before(t) {
			out = append(out, l.line)
		}
	}
	return out
}

// admit allows the pod and labels it.
func admit(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "malformed AdmissionReview", http.StatusBadRequest)
		return
	}
	patch := fmt.Sprintf(`[{"op":"add","path":"/metadata/labels/%s","value":"true"}]`, labelAdmitted)
	pt := admissionv1.PatchTypeJSONPatch
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: []byte(patch), PatchType: &pt}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
}

// webhookConfig is a MutatingWebhookConfiguration calling addr for pods of
// the test namespace that carry annotationAdmit, with an empty caBundle.
func webhookConfig(name, addr string, labels map[string]string) *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "pods.certs-e2e.railnet.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://" + addr + "/mutate")},
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			TimeoutSeconds:          ptr.To[int32](10),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				corev1.LabelMetadataName: namespace,
			}},
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "annotated",
				Expression: fmt.Sprintf(`has(object.metadata.annotations) && '%s' in object.metadata.annotations && object.metadata.annotations['%s'] == '%s'`, annotationAdmit, annotationAdmit, name),
			}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
					Scope: ptr.To(admissionregistrationv1.NamespacedScope),
				},
			}},
		}},
	}
}

// applyWebhookConfig creates cfg (deleted when the test ends).
func applyWebhookConfig(t *testing.T, cfg *admissionregistrationv1.MutatingWebhookConfiguration) {
	t.Helper()
	ctx := context.Background()
	if err := cluster.Client.Create(ctx, cfg); err != nil {
		t.Fatalf("create MutatingWebhookConfiguration %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := cluster.Client.Delete(context.Background(), cfg); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete MutatingWebhookConfiguration %s: %v", cfg.Name, err)
		}
	})
}

// testPod is an annotated pod that only the webhook config named hook admits.
func testPod(hook, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace,
			Labels:      map[string]string{"app": "certs-e2e"},
			Annotations: map[string]string{annotationAdmit: hook},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/pause:1"}}},
	}
}

// admits reports whether a server-side dry-run create of an annotated pod
// passes the webhook (and was labelled by it).
func admits(ctx context.Context, hook string) (bool, error) {
	pod := testPod(hook, "probe")
	if err := cluster.Client.Create(ctx, pod, client.DryRunAll); err != nil {
		return false, err
	}
	if pod.Labels[labelAdmitted] != "true" {
		return false, fmt.Errorf("the dry-run pod was not labelled by the webhook")
	}
	return true, nil
}

// caBundleOf returns the caBundle of every entry of the named configuration.
func caBundleOf(ctx context.Context, name string) ([][]byte, error) {
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: name}, &cfg); err != nil {
		return nil, err
	}
	var out [][]byte
	for _, w := range cfg.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out, nil
}

// load creates annotated pods at rate per second with several workers until
// stopped, and counts what happened.
type load struct {
	created, failed, unlabelled atomic.Int64
	mu                          sync.Mutex
	firstErrors                 []string
	start                       time.Time
	elapsed                     time.Duration
	stop                        func()
}

func startLoad(t *testing.T, hook string, rate int) *load {
	t.Helper()
	return startPods(t, rate, func(i int) *corev1.Pod { return testPod(hook, fmt.Sprintf("%s-%d", hook, i)) },
		func(p *corev1.Pod) bool { return p.Labels[labelAdmitted] == "true" })
}

// startPods creates the pods newPod makes at rate per second with several
// workers until stopped; a created pod that fails ok counts as unlabelled.
func startPods(t *testing.T, rate int, newPod func(i int) *corev1.Pod, ok func(*corev1.Pod) bool) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{start: time.Now()}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				pod := newPod(i)
				rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
				err := cluster.Client.Create(rctx, pod)
				rcancel()
				switch {
				case err != nil:
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.firstErrors) < 5 {
						l.firstErrors = append(l.firstErrors, fmt.Sprintf("%s after %s: %v", pod.Name, time.Since(l.start).Round(time.Millisecond), err))
					}
					l.mu.Unlock()
				case !ok(pod):
					l.unlabelled.Add(1)
				default:
					l.created.Add(1)
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case <-ctx.Done():
				return
			case jobs <- i:
			}
		}
	}()
	var once sync.Once
	l.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			l.elapsed = time.Since(l.start)
		})
	}
	t.Cleanup(l.stop)
	return l
}

// deletePods removes the test's pods (there is no controller-manager to
// collect them).
func deletePods(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		err := cluster.Client.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace(namespace),
			client.MatchingLabels{"app": "certs-e2e"}, client.GracePeriodSeconds(0))
		if err != nil {
			t.Errorf("delete test pods: %v", err)
		}
	})
}

// verifies reports whether leaf verifies for 127.0.0.1 against the PEM bundle.
func verifies(leaf *x509.Certificate, bundle []byte) error {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		return errors.New("empty bundle")
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"})
	return err
}

func ipLoopback() []net.IP { return []net.IP{net.IPv4(127, 0, 0, 1)} }

// requestCARotation sets the rotate annotation of the CA Secret to at.
func requestCARotation(t *testing.T, secret string, at time.Time) {
	t.Helper()
	ctx := t.Context()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var sec corev1.Secret
		if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: secret}, &sec); err != nil {
			return err
		}
		if sec.Annotations == nil {
			sec.Annotations = map[string]string{}
		}
		sec.Annotations[trust.AnnotationRotate] = at.Format(time.RFC3339Nano)
		return cluster.Client.Update(ctx, &sec)
	})
	if err != nil {
		t.Fatalf("request a CA rotation of Secret %s: %v", secret, err)
	}
}
