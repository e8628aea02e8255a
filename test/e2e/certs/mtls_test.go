package certs

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/extender/schedconfig"
	"github.com/railnet/railnet/test/ground"
)

const chartClientSecret = "railnet-scheduler-client"

// The extender binary in self-managed HTTPS mode, as the chart runs it,
// keeps the scheduler's client certificate in a Secret and answers the
// scheduler's verbs only to it: a real kube-scheduler with that certificate
// (tlsConfig certFile/keyFile) schedules through it; one without gets 401.
func TestExtenderRequiresTheSchedulersClientCertificate(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	ctx := t.Context()
	dir := t.TempDir()
	kubeconfigs := cluster.ApplyChartRBAC(t, dir, "railnet", namespace, []string{"extender"})
	cluster.CreateNode(t, ground.NodeSpec{Name: "certs-e2e-mtls", Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}})

	httpAddr, httpsAddr := startSelfManagedExtender(t, dir, kubeconfigs["extender"],
		"--client-cert-secret="+chartClientSecret,
		"--ca-overlap=4s", // a requested CA rotation completes in seconds
	)
	var sec corev1.Secret
	eventually(t, 60*time.Second, "the scheduler's client certificate Secret", func() (bool, error) {
		err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: chartClientSecret}, &sec)
		return err == nil, client.IgnoreNotFound(err)
	})
	kp, err := pki.ParseKeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("Secret %s: %v", chartClientSecret, err)
	}
	caBefore := caStateOf(t, chartCASecret).Current.Cert
	if ca := caBefore; !pki.SignedBy(kp.Cert, ca) ||
		len(kp.Cert.ExtKeyUsage) != 1 || kp.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("client certificate %q: signed by the CA %v, usages %v; want the CA's, client auth only",
			kp.Cert.Subject.CommonName, pki.SignedBy(kp.Cert, ca), kp.Cert.ExtKeyUsage)
	}
	bundle := sec.Data["ca.crt"]
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for f, b := range map[string][]byte{certFile: kp.CertPEM, keyFile: kp.KeyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// By hand: no certificate, then the Secret's.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(bundle)
	post := func(cert *tls.Certificate) (int, string) {
		tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := hc.Post("https://"+httpsAddr+"/filter", "application/json",
			strings.NewReader(`{"pod":{"metadata":{"name":"p","namespace":"default"}},"nodenames":["certs-e2e-mtls"]}`))
		if err != nil {
			t.Fatalf("POST /filter: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(nil); code != http.StatusUnauthorized ||
		!strings.Contains(body, "this HTTPS endpoint answers only the scheduler, which must present its client certificate") {
		t.Errorf("without a client certificate: HTTP %d %q, want 401 naming the client certificate", code, body)
	}
	tc, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := post(&tc); code != http.StatusOK {
		t.Errorf("with the scheduler's client certificate: HTTP %d %q, want 200", code, body)
	}

	// Real schedulers: with the certificate files, and without.
	entry := func(withCert bool) []schedconfigv1.Extender {
		tlsCfg := &schedconfigv1.ExtenderTLSConfig{CAData: bundle}
		if withCert {
			tlsCfg.CertFile, tlsCfg.KeyFile = certFile, keyFile
		}
		return []schedconfigv1.Extender{schedconfig.Extender(schedconfig.Options{URLPrefix: "https://" + httpsAddr, TLS: tlsCfg})}
	}
	const withName, withoutName = "railnet-e2e-mtls", "railnet-e2e-nocert"
	for name, withCert := range map[string]bool{withName: true, withoutName: false} {
		s, err := cluster.StartScheduler(ctx, ground.SchedulerSpec{Name: name, Extenders: entry(withCert)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
	}
	create(t, schedPod("mtls-0", withName))
	eventually(t, 60*time.Second, "pod mtls-0 bound through the extender", func() (bool, error) {
		var p corev1.Pod
		err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: "mtls-0"}, &p)
		return err == nil && p.Spec.NodeName != "", err
	})
	create(t, schedPod("nocert-0", withoutName))
	msg := waitFailedScheduling(t, "nocert-0", 60*time.Second)
	t.Logf("the scheduler without a client certificate: %s", msg)
	if !strings.Contains(msg, "401") && !strings.Contains(msg, "client certificate") {
		t.Errorf("the scheduler without a client certificate failed with %q, want the extender's 401", msg)
	}
	if n := extenderRequests(t, httpAddr, "filter"); n < 1 {
		t.Errorf("the extender answered %v filter calls with 200", n)
	}

	// A CA rotation re-issues the client certificate from the new CA, and a
	// lost Secret comes back.
	requestCARotation(t, chartCASecret, time.Now())
	clientCertBy := func(what string, signed func(*x509.Certificate) bool) {
		t.Helper()
		eventually(t, 60*time.Second, what, func() (bool, error) {
			var s corev1.Secret
			if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: chartClientSecret}, &s); err != nil {
				return false, client.IgnoreNotFound(err)
			}
			got, err := pki.ParseKeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
			return err == nil && signed(got.Cert), nil
		})
	}
	clientCertBy("the client certificate re-issued by the rotated CA", func(c *x509.Certificate) bool {
		st := caStateOf(t, chartCASecret)
		return !st.Current.Cert.Equal(caBefore) && pki.SignedBy(c, st.Current.Cert)
	})
	if err := cluster.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: chartClientSecret}}); err != nil {
		t.Fatal(err)
	}
	clientCertBy("the deleted client certificate Secret written again", func(c *x509.Certificate) bool {
		return pki.SignedBy(c, caStateOf(t, chartCASecret).Current.Cert)
	})
}
