package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/filesource"
	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/serving"
)

// cert-manager mode: cert-manager renews the Secret, the kubelet swaps the
// mounted files, the file source reloads them; the CA (injected by
// cert-manager's cainjector, here by the test) stays. No admission fails while
// the files change under load.
func TestMountedFilesReloadUnderLoad(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	deletePods(t)
	const hook = "certs-e2e-files"
	ctx := context.Background()

	ca, err := pki.NewCA("cert-manager-issuer", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	publish := func(version int) *pki.KeyPair {
		kp, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "railnet-webhook", IPs: ipLoopback(), Validity: time.Hour}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		writeMountedSecret(t, dir, version, kp, nil)
		return kp
	}
	publish(1)
	src, err := filesource.New(filesource.Options{
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		Poll: time.Hour, // only file events can explain a reload
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Start(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("file source: %v", err)
		}
	})
	eventually(t, 10*time.Second, "the mounted pair loaded", func() (bool, error) { return src.Healthy(), nil })

	addr, serverLog := serveWebhook(t, src.GetCertificate, src.Healthy)
	cfg := webhookConfig(hook, addr, nil)
	cfg.Webhooks[0].ClientConfig.CABundle = ca.CertPEM // what cainjector writes
	applyWebhookConfig(t, cfg)
	eventually(t, 20*time.Second, "the webhook admitting", func() (bool, error) { return admits(ctx, hook) })

	l := startLoad(t, hook, 25)
	for v := 2; v <= 4; v++ {
		eventually(t, 10*time.Second, "some admissions on the current pair", func() (bool, error) {
			return l.created.Load() >= int64(40*(v-1)), nil
		})
		kp := publish(v)
		eventually(t, 10*time.Second, fmt.Sprintf("pair %d served", v), func() (bool, error) {
			tc, err := src.GetCertificate(&tls.ClientHelloInfo{})
			return err == nil && tc.Leaf.SerialNumber.Cmp(kp.Cert.SerialNumber) == 0, err
		})
	}
	after := l.created.Load()
	eventually(t, 10*time.Second, "admissions on the last pair", func() (bool, error) { return l.created.Load() >= after+25, nil })
	l.stop()

	t.Logf("pods created: %d in %s, failed admissions: %d; pairs loaded: %d", l.created.Load(), l.elapsed.Round(time.Millisecond), l.failed.Load(), src.Reloads())
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d admissions failed while the files changed; first: %v", n, l.firstErrors)
	}
	if lines := serverLog.Since(l.start); len(lines) > 0 {
		t.Errorf("the webhook server logged %d errors during the load; first: %q", len(lines), lines[0])
	}
	if src.Reloads() != 4 {
		t.Errorf("loaded %d pairs, want 4", src.Reloads())
	}
}

// The load harness does see failures: while the server presents a
// certificate from a CA that the caBundle does not hold, admissions fail and
// the server logs the refused handshakes. (Guards the zero-failure tests
// against counting nothing.)
func TestHarnessSeesAnUntrustedCertificate(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	deletePods(t)
	const hook = "certs-e2e-harness"
	ctx := context.Background()
	issue := func(cn string) (*tls.Certificate, []byte) {
		ca, err := pki.NewCA(cn, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		kp, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "w", IPs: ipLoopback(), Validity: time.Hour}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tc, err := kp.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		return tc, ca.CertPEM
	}
	good, trustedPEM := issue("trusted")
	bad, _ := issue("stranger")
	var serveBad atomic.Bool
	addr, serverLog := serveWebhook(t, func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if serveBad.Load() {
			return bad, nil
		}
		return good, nil
	}, func() bool { return true })
	cfg := webhookConfig(hook, addr, nil)
	cfg.Webhooks[0].ClientConfig.CABundle = trustedPEM
	applyWebhookConfig(t, cfg)
	eventually(t, 20*time.Second, "the webhook admitting", func() (bool, error) { return admits(ctx, hook) })

	l := startLoad(t, hook, 25)
	eventually(t, 10*time.Second, "admissions with the trusted certificate", func() (bool, error) { return l.created.Load() >= 10, nil })
	serveBad.Store(true)
	eventually(t, 10*time.Second, "failed admissions with the stranger's certificate", func() (bool, error) { return l.failed.Load() >= 5, nil })
	serveBad.Store(false)
	l.stop()
	if lines := serverLog.Since(l.start); len(lines) == 0 {
		t.Error("the server logged no refused handshake")
	}
	t.Logf("with an untrusted certificate: %d failed admissions, %d server errors logged", l.failed.Load(), len(serverLog.Since(l.start)))
}

// writeMountedSecret publishes a pair (and, when caPEM is set, ca.crt) the
// way the kubelet updates a mounted Secret: a new versioned folder, then an
// atomic swap of the ..data link that the files point through.
func writeMountedSecret(t *testing.T, dir string, version int, kp *pki.KeyPair, caPEM []byte) {
	t.Helper()
	vdir := fmt.Sprintf("..%d", version)
	if err := os.Mkdir(filepath.Join(dir, vdir), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"tls.crt": kp.CertPEM, "tls.key": kp.KeyPEM}
	if caPEM != nil {
		files["ca.crt"] = caPEM
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, vdir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if version == 1 {
			if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(vdir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// cert-manager mode with a secondary scheduler: the extender's serving
// source follows the mounted Secret, ca.crt included, and rolls the
// scheduler Deployment (which reads the CA only at start) when cert-manager
// moves to a new CA. The extender runs with the chart's RBAC.
func TestCertManagerCAChangeRollsTheScheduler(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	const release = "certs-cm"
	scheduler := release + "-scheduler"
	ctx := t.Context()
	kubeconfig := cluster.ApplyChartRBAC(t, t.TempDir(), release, namespace, []string{"extender"},
		"--set", "certificate.mode=cert-manager", "--set", "extender.schedulerDeployment="+scheduler,
		"--api-versions", "cert-manager.io/v1/Certificate", "--api-versions", "cert-manager.io/v1/Issuer")["extender"]
	create(t, schedulerDeploymentObject(scheduler))

	dir := t.TempDir()
	publish := func(version int, caName string) *pki.KeyPair {
		ca, err := pki.NewCA(caName, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		kp, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "railnet-extender", IPs: ipLoopback(), Validity: time.Hour}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		writeMountedSecret(t, dir, version, kp, ca.CertPEM)
		return ca
	}
	ca1 := publish(1, "cert-manager-ca-1")
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Built from the flags the chart renders in this mode.
	src, err := serving.New(rc, serving.Config{
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CAFile: filepath.Join(dir, "ca.crt"),
		RolloutDeployments: []types.NamespacedName{{Namespace: namespace, Name: scheduler}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(runManager(t, src))

	rolledTo := func(ca *pki.KeyPair) func() (bool, error) {
		return func() (bool, error) {
			var dep appsv1.Deployment
			if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: scheduler}, &dep); err != nil {
				return false, err
			}
			return dep.Spec.Template.Annotations[selfmanaged.AnnotationBundleHash] == selfmanaged.BundleHash(ca.CertPEM), nil
		}
	}
	eventually(t, 10*time.Second, "the scheduler Deployment rolled onto the mounted ca.crt", rolledTo(ca1))
	start := time.Now()
	ca2 := publish(2, "cert-manager-ca-2")
	eventually(t, 10*time.Second, "the scheduler Deployment rolled onto cert-manager's new CA", rolledTo(ca2))
	t.Logf("new CA mounted → scheduler Deployment rolled in %s", time.Since(start).Round(time.Millisecond))
	if leaf, err := src.GetCertificate(&tls.ClientHelloInfo{}); err != nil || !pki.SignedBy(leaf.Leaf, mustParse(t, ca2.CertPEM)) {
		t.Errorf("the extender does not serve the new leaf: %v", err)
	}
}

func mustParse(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	certs, err := pki.ParseCerts(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}
