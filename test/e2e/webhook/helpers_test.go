package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
	"github.com/railnet/railnet/webhook/registration"
)

const (
	configNS   = "railnet"
	configName = "railnet-config"
	regName    = "railnet-webhook-e2e"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// webhookBinary builds ./webhook once per test process, into the cluster's
// folder (removed with the cluster).
func webhookBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir := filepath.Join(cluster.Dir, "webhook-bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "railnet-webhook")
		buildErr = ground.Build(context.Background(), binPath, "./webhook")
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

// webhookProc is one running webhook process.
type webhookProc struct {
	cmd  *exec.Cmd
	addr string
	ca   *ground.CA
	log  *lockedWriter
	done chan struct{}
}

// startWebhook runs the webhook binary with a serving certificate from a
// CA made for this test, waits for /readyz and registers it with the
// apiserver by URL. Cleanup removes the registration and stops the process.
func startWebhook(t testing.TB) *webhookProc {
	t.Helper()
	dir := t.TempDir()
	ca, certPEM, keyPEM := loopbackCert(t, "railnet-webhook-e2e-ca")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := &webhookProc{addr: addr, ca: ca, log: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
	// Runs as the chart's ServiceAccount, with exactly the chart's RBAC.
	cluster.EnsureNamespace(t, configNS)
	kubeconfig := cluster.ApplyChartRBAC(t, dir, "railnet", configNS, []string{"webhook"})["webhook"]
	p.cmd = exec.Command(webhookBinary(t), "--kubeconfig="+kubeconfig, "--listen="+addr,
		"--tls-cert-file="+certFile, "--tls-key-file="+keyFile, "--namespace="+configNS, "--config-map="+configName, "-v=2")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("webhook log:\n%s", p.log.String())
		}
	})
	p.waitReady(t)
	register(t, p)
	return p
}

// loopbackCert makes a CA named name and a serving certificate (and key)
// it signed for 127.0.0.1.
func loopbackCert(t testing.TB, name string) (ca *ground.CA, certPEM, keyPEM []byte) {
	t.Helper()
	ca, err := ground.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err = ca.Issue("127.0.0.1", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return ca, certPEM, keyPEM
}

// Stop ends the process with SIGTERM (it releases its leader Lease), or
// SIGKILL after 10 s, and waits for it to exit.
func (p *webhookProc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *webhookProc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *webhookProc) waitReady(t testing.TB) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	poll.Until(t, 60*time.Second, "webhook /readyz", func() error {
		select {
		case <-p.done:
			return poll.Final(fmt.Errorf("webhook exited:\n%s", p.log.String()))
		default:
		}
		resp, err := c.Get("https://" + p.addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// register creates (or replaces) the webhook configurations pointing at p.
func register(t testing.TB, p *webhookProc) {
	t.Helper()
	ctx := context.Background()
	o := registration.Options{Name: regName, URL: "https://" + p.addr, CABundle: p.ca.CertPEM}
	for _, obj := range []client.Object{registration.Mutating(o), registration.Validating(o)} {
		_ = cluster.Client.Delete(ctx, obj)
		if err := cluster.Client.Create(ctx, obj); err != nil {
			t.Fatalf("register webhook: %v", err)
		}
	}
	t.Cleanup(func() {
		_ = cluster.Client.Delete(ctx, registration.Mutating(o))
		_ = cluster.Client.Delete(ctx, registration.Validating(o))
	})
}

// setConfig writes the webhook's ConfigMap.
func setConfig(t testing.TB, podResourceInject string) {
	t.Helper()
	ctx := context.Background()
	cluster.EnsureNamespace(t, configNS)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: configNS, Name: configName},
		Data: map[string]string{"conf.yaml": "podResourceInject:\n" + podResourceInject}}
	if err := cluster.Client.Create(ctx, cm); apierrors.IsAlreadyExists(err) {
		var cur corev1.ConfigMap
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(cm), &cur); err != nil {
			t.Fatal(err)
		}
		cur.Data = cm.Data
		err = cluster.Client.Update(ctx, &cur)
		if err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
}

// probePod server-side dry-runs an annotated pod in ns and returns it as
// admitted.
func probePod(ctx context.Context, ns string, ann map[string]string) (*corev1.Pod, error) {
	p := newPod(ns, "probe-", ann)
	err := cluster.Client.Create(ctx, p, client.DryRunAll)
	return p, err
}

func newPod(ns, generateName string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: generateName, Annotations: ann},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "rdma-tools"}}},
	}
}

// seedObjects returns the seed guide's webhook-section YAML (one pool and
// one SpiderMultusConfig for GPU 1, read verbatim from test/testdata/seed)
// repeated for GPUs 1..8 the way the guide says the other seven follow.
func seedObjects(t testing.TB) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed", "webhook-pool-and-inject-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := 1; n <= 8; n++ {
		r := strings.NewReplacer("gpu1", fmt.Sprintf("gpu%d", n), "net11", fmt.Sprintf("net1%d", n),
			"172.16.11.", fmt.Sprintf("172.16.1%d.", n), "enp11s0", fmt.Sprintf("enp1%ds0", n))
		out = append(out, r.Replace(string(raw)))
	}
	return []byte(strings.Join(out, "\n---\n"))
}

func mustYAML(t testing.TB, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
