package certs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/webhook/registration"
)

// The webhook binary the way the chart runs it: its flags, its RBAC (release
// whRelease), registered with the empty caBundle a chart applies. All three
// acceptance checks of the certificate work, on the real service:
//   - annotated pods get their RDMA network injected at 25/s while the
//     serving certificate and then the CA rotate, with no failed admission;
//   - a restarted webhook keeps the CA;
//   - configurations re-applied with an empty caBundle (a helm upgrade) are
//     repaired and admissions resume within 10s.
func TestWebhookBinaryRotatesRestartsAndRepairs(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	deletePods(t)
	ctx := t.Context()
	const (
		whRelease = "certs-wh"
		configMap = whRelease + "-config"
		secret    = whRelease + "-ca"
		hook      = whRelease + "-webhook"
		group     = "certs-wh-rails"
	)

	bin := ground.BuildCommandsT(t, "./webhook")
	dir := t.TempDir()
	kubeconfigs := cluster.ApplyChartRBAC(t, dir, whRelease, namespace, []string{"webhook"})
	create(t, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: configMap},
		Data:       map[string]string{"conf.yaml": "podResourceInject:\n  enabled: true\n"},
	})
	addr := freeAddr(t)
	reg := registration.Options{Name: hook, URL: "https://" + addr}
	create(t, registration.Mutating(reg))
	create(t, registration.Validating(reg))

	args := []string{
		"--kubeconfig=" + kubeconfigs["webhook"],
		"--namespace=" + namespace, "--config-map=" + configMap, "--service=" + hook,
		"--webhook-configuration=" + hook, "--leader-election-id=" + hook,
		"--listen=" + addr, "--ca-secret=" + secret, "--extra-sans=127.0.0.1",
		"--ca-lifetime=1h", "--ca-overlap=10s", "--serving-lifetime=6s", // re-issued every 4s
	}
	logPath := filepath.Join(dir, "webhook.log")
	wh := startWebhookBinary(t, filepath.Join(bin, "webhook"), logPath, args)

	// The group the pods ask for, created through the webhook (it validates
	// both kinds): once that works, the caBundle is in place.
	eventually(t, 60*time.Second, "the webhook admitting a SpiderIPPool (caBundle injected)", func() (bool, error) {
		err := cluster.Client.Create(ctx, &spiderv2beta1.SpiderIPPool{
			ObjectMeta: metav1.ObjectMeta{Name: "certs-wh-pool"},
			Spec: spiderv2beta1.IPPoolSpec{
				Subnet: "172.31.0.0/24", Gateway: ptr.To("172.31.0.254"), IPs: []string{"172.31.0.1-172.31.0.200"},
			},
		})
		return err == nil, err
	})
	t.Cleanup(func() {
		_ = cluster.Client.Delete(context.Background(), &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "certs-wh-pool"}})
	})
	if _, err := cluster.Apply(ctx, []byte(fmt.Sprintf(`apiVersion: spiderpool.spidernet.io/v2beta1
kind: SpiderMultusConfig
metadata:
  name: certs-wh-rail1
  namespace: %s
  annotations:
    cni.spidernet.io/rdma-resource-inject: %s
spec:
  cniType: macvlan
  macvlan:
    master: ["eth1"]
    enableRdma: true
    rdmaResourceName: spidernet.io/certs_wh_rail1
  ippools:
    ipv4: ["certs-wh-pool"]
`, namespace, group))); err != nil {
		t.Fatalf("apply the SpiderMultusConfig: %v", err)
	}
	injected := func(p *corev1.Pod) bool { return p.Annotations[nadv1.NetworkAttachmentAnnot] != "" }
	admitsPod := func() (bool, error) {
		p := whPod("probe", group)
		if err := cluster.Client.Create(ctx, p, client.DryRunAll); err != nil {
			return false, err
		}
		if !injected(p) {
			return false, fmt.Errorf("the dry-run pod got no %s annotation", nadv1.NetworkAttachmentAnnot)
		}
		return true, nil
	}
	eventually(t, 30*time.Second, "the webhook injecting the group into pods", admitsPod)

	// 1. Rotation under load.
	ca1 := caStateOf(t, secret).Current.Cert
	leaves := watchLeaves(t, addr)
	l := startPods(t, 25, func(i int) *corev1.Pod { return whPod(fmt.Sprintf("wh-%d", i), group) }, injected)
	eventually(t, 30*time.Second, "three serving certificate rotations under load", func() (bool, error) {
		return leaves.count() >= 4, nil
	})
	caStart := time.Now()
	requestCARotation(t, secret, caStart)
	eventually(t, 60*time.Second, "the CA rotation to finish (new CA signs, old one retired from both caBundles)", func() (bool, error) {
		st := caStateOf(t, secret)
		if st.Next != nil || st.Previous != nil || st.Current.Cert.Equal(ca1) {
			return false, nil
		}
		leaf := leaves.latest()
		if leaf == nil || !pki.SignedBy(leaf, st.Current.Cert) {
			return false, nil
		}
		return bundlesAre(ctx, hook, st.Bundle())
	})
	caRotation := time.Since(caStart)
	after := l.created.Load()
	eventually(t, 10*time.Second, "50 more admissions on the new CA alone", func() (bool, error) {
		return l.created.Load() >= after+50, nil
	})
	l.stop()
	leaves.stop()
	rate := float64(l.created.Load()+l.failed.Load()+l.unlabelled.Load()) / l.elapsed.Seconds()
	t.Logf("rotation: %d pods injected in %s (%.1f/s), failed admissions %d, not injected %d; serving certificates seen %d; CA rotation took %s",
		l.created.Load(), l.elapsed.Round(time.Millisecond), rate, l.failed.Load(), l.unlabelled.Load(), leaves.count(), caRotation.Round(time.Millisecond))
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d admissions failed during rotation; first: %v", n, l.firstErrors)
	}
	if n := l.unlabelled.Load(); n > 0 {
		t.Errorf("%d pods were created without the injected networks", n)
	}
	if rate < minRate {
		t.Errorf("pod creation rate %.1f/s is below the required %d/s", rate, minRate)
	}
	if n := leaves.count() - 1; n < 3 {
		t.Errorf("the serving certificate rotated %d times, want at least 3", n)
	}

	// 2. A restarted webhook keeps the CA.
	before := caStateOf(t, secret).Current.Cert
	wh.stop(t)
	wh = startWebhookBinary(t, filepath.Join(bin, "webhook"), logPath, args)
	eventually(t, 30*time.Second, "the restarted webhook injecting again", admitsPod)
	if st := caStateOf(t, secret); !st.Current.Cert.Equal(before) || st.Next != nil {
		t.Errorf("the restarted webhook changed the CA (%s → %s, next %v)", before.SerialNumber, st.Current.Cert.SerialNumber, st.Next != nil)
	}

	// 3. Re-applied with an empty caBundle, as a helm upgrade does.
	emptied := time.Now()
	reapplyEmpty(t, reg)
	eventually(t, 10*time.Second, "admissions after the caBundle was emptied", admitsPod)
	t.Logf("caBundle emptied by a re-apply: admissions resumed after %s", time.Since(emptied).Round(time.Millisecond))
	if ok, err := bundlesAre(ctx, hook, caStateOf(t, secret).Bundle()); !ok {
		t.Errorf("the caBundles are not the CA bundle after the repair: %v", err)
	}
}

// whProc is a running webhook binary.
type whProc struct {
	cmd    *exec.Cmd
	exited <-chan struct{}
}

func startWebhookBinary(t *testing.T, bin, logPath string, args []string) *whProc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("webhook log:\n%s", tailLines(string(b), 60))
		}
	})
	return &whProc{cmd: cmd, exited: ground.StartCommand(t, cmd, 15*time.Second)}
}

// stop ends the webhook as a rolling update does (SIGTERM).
func (w *whProc) stop(t *testing.T) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the webhook did not stop within 15s of SIGTERM")
	}
}

// whPod asks for the RDMA networks of group; no scheduler takes it.
func whPod(name, group string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, Labels: map[string]string{"app": "certs-e2e"},
			Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: group},
		},
		Spec: corev1.PodSpec{
			SchedulerName: "certs-e2e-nobody",
			Containers:    []corev1.Container{{Name: "c", Image: "registry.invalid/pause:1"}},
		},
	}
}

// reapplyEmpty writes both configurations as the chart renders them (caBundle
// empty) over the live ones, as a helm upgrade does.
func reapplyEmpty(t *testing.T, reg registration.Options) {
	t.Helper()
	ctx := t.Context()
	for _, fresh := range []client.Object{registration.Mutating(reg), registration.Validating(reg)} {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			live := fresh.DeepCopyObject().(client.Object)
			if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(fresh), live); err != nil {
				return err
			}
			fresh.SetResourceVersion(live.GetResourceVersion())
			return cluster.Client.Update(ctx, fresh)
		})
		if err != nil {
			t.Fatalf("re-apply the webhook configurations %s with an empty caBundle: %v", reg.Name, err)
		}
	}
}

// bundlesAre reports whether every entry of both configurations named hook
// carries bundle.
func bundlesAre(ctx context.Context, hook string, bundle []byte) (bool, error) {
	got, err := caBundleOf(ctx, hook) // the mutating configuration's entries
	if err != nil {
		return false, err
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: hook}, &v); err != nil {
		return false, err
	}
	for _, w := range v.Webhooks {
		got = append(got, w.ClientConfig.CABundle)
	}
	for _, b := range got {
		if !bytes.Equal(b, bundle) {
			return false, nil
		}
	}
	return len(got) > 0, nil
}
