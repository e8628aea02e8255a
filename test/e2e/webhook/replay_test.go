package webhook

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/webhook/registration"
)

// replayWebhook is the floor any mutating pod webhook pays through the
// apiserver: a TLS server (HTTP/2, as railnet's) that does no work but
// read the review's uid and namespace and answer, for pods in patchNS,
// with a fixed patch (SetPatch: railnet's patch for the review the
// apiserver sent, the first one seen in patchNS) and for pods elsewhere
// with no patch. It is registered with railnet's own pod webhooks (same
// rules, matchConditions, timeouts), so the apiserver's side — encoding
// the review, the call, applying the patch, decoding the result — is the
// same as for railnet's webhook.
type replayWebhook struct {
	srv     *httptest.Server
	patch   atomic.Pointer[string] // the response's patch fields, for patchNS
	first   atomic.Pointer[[]byte] // the first review body seen in patchNS
	patchNS string
	reviews sync.Map // namespace -> *atomic.Int64
}

// startReplay serves and registers a replay webhook for pods in
// namespaces (and only those), answering every pod with no patch until
// SetPatch.
func startReplay(tb testing.TB, patchNS string, namespaces ...string) *replayWebhook {
	tb.Helper()
	ca, certPEM, keyPEM := loopbackCert(tb, "railnet-webhook-replay-ca")
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	r := &replayWebhook{patchNS: patchNS}
	r.patch.Store(new(string))
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.EnableHTTP2 = true
	r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	r.srv.StartTLS()
	tb.Cleanup(r.srv.Close)

	cfg := registration.Mutating(registration.Options{Name: regName + "-replay", URL: r.srv.URL, CABundle: ca.CertPEM})
	cfg.Webhooks = slices.DeleteFunc(cfg.Webhooks, func(w admissionregv1.MutatingWebhook) bool {
		return !strings.HasSuffix(*w.ClientConfig.URL, registration.MutatePodPath)
	})
	for i := range cfg.Webhooks {
		// Apart from railnet's in the apiserver's metrics.
		cfg.Webhooks[i].Name = strings.Replace(cfg.Webhooks[i].Name, ".inject.", ".replay.", 1)
	}
	onlyNamespaces(cfg, namespaces...)
	ctx := context.Background()
	_ = cluster.Client.Delete(ctx, cfg)
	if err := cluster.Client.Create(ctx, cfg.DeepCopy()); err != nil {
		tb.Fatalf("register replay webhook: %v", err)
	}
	tb.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), cfg) })
	return r
}

// onlyNamespaces narrows cfg's pod webhooks to pods in namespaces.
func onlyNamespaces(cfg *admissionregv1.MutatingWebhookConfiguration, namespaces ...string) {
	for i, w := range cfg.Webhooks {
		if w.ClientConfig.URL != nil && !strings.HasSuffix(*w.ClientConfig.URL, registration.MutatePodPath) ||
			w.ClientConfig.Service != nil && *w.ClientConfig.Service.Path != registration.MutatePodPath {
			continue
		}
		sel := w.NamespaceSelector.DeepCopy()
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: namespaces})
		cfg.Webhooks[i].NamespaceSelector = sel
	}
}

// SetPatch makes the answers for pods in patchNS carry patch (a JSON
// Patch).
func (r *replayWebhook) SetPatch(patch []byte) {
	s := `,"patchType":"JSONPatch","patch":"` + base64.StdEncoding.EncodeToString(patch) + `"`
	r.patch.Store(&s)
}

// FirstReview is the body of the first review the apiserver sent for a
// pod in patchNS (nil before one came): the pod as railnet's webhook would
// see it, defaulted by the apiserver.
func (r *replayWebhook) FirstReview() []byte {
	if b := r.first.Load(); b != nil {
		return *b
	}
	return nil
}

// Reviews is the number of pod reviews answered so far for namespace ns.
func (r *replayWebhook) Reviews(ns string) int64 {
	c, _ := r.reviews.LoadOrStore(ns, new(atomic.Int64))
	return c.(*atomic.Int64).Load()
}

func (r *replayWebhook) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var review struct {
		Request struct {
			UID       string `json:"uid"`
			Namespace string `json:"namespace"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &review); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c, _ := r.reviews.LoadOrStore(review.Request.Namespace, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
	uid, _ := json.Marshal(review.Request.UID)
	extra := ""
	if review.Request.Namespace == r.patchNS {
		r.first.CompareAndSwap(nil, &body)
		extra = *r.patch.Load()
	}
	out := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":` + string(uid) + `,"allowed":true` + extra + `}}`)
	// As railnet's webhook answers: with its length, in one go.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
}
