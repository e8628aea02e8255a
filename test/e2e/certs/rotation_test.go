package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/selfmanaged"
)

// minRate is the pod creation rate the acceptance asks for.
const minRate = 20

// Pods keep being admitted, without a single failure, while the serving
// certificate is re-issued several times and then the CA is rotated.
func TestRotationUnderLoadLosesNoAdmission(t *testing.T) {
	cluster.EnsureNamespace(t, namespace)
	deletePods(t)
	const hook = "certs-e2e-rotation"
	const secret = "railnet-ca-rotation"
	ctx := context.Background()

	m := startManager(t, selfmanaged.Options{
		Namespace:  namespace,
		SecretName: secret,
		ExtraSANs:  []string{"127.0.0.1"},
		CA:         pki.Lifetime{Validity: time.Hour},
		CAOverlap:  10 * time.Second, // next CA trusted 5s before it signs, old one 5s after
		Serving:    pki.Lifetime{Validity: 6 * time.Second, RenewFraction: 0.5},
		Inject:     selfmanaged.Targets{Selector: labels.SelectorFromSet(labels.Set{selfmanaged.LabelInjectCA: "true"})},
		Resync:     5 * time.Second,
	})
	addr, serverLog := serveWebhook(t, m.GetCertificate, m.Healthy)
	eventually(t, 20*time.Second, "a serving certificate", func() (bool, error) { return m.Healthy(), nil })
	checkHealthz(t, addr)

	applyWebhookConfig(t, webhookConfig(hook, addr, map[string]string{selfmanaged.LabelInjectCA: "true"}))
	eventually(t, 20*time.Second, "the caBundle injected and the webhook admitting", func() (bool, error) {
		return admits(ctx, hook)
	})

	st, _ := m.Authority.State()
	firstCA := st.Current.Cert
	issuedBefore := m.Source.Issued()

	l := startLoad(t, hook, 25)

	// Serving certificate rotations: three re-issues from the same CA.
	eventually(t, 30*time.Second, "three serving certificate rotations", func() (bool, error) {
		return m.Source.Issued() >= issuedBefore+3, nil
	})
	servingRotations := m.Source.Issued() - issuedBefore

	// CA rotation, requested through the Secret's annotation.
	caStart := time.Now()
	requestCARotation(t, secret, caStart)
	var sawTwo bool
	eventually(t, 60*time.Second, "the CA rotation to finish (new CA signs, old one retired from every caBundle)", func() (bool, error) {
		st, _ := m.Authority.State()
		if st.Next != nil || st.Previous != nil {
			sawTwo = true
			return false, nil
		}
		if st.Current.Cert.Equal(firstCA) {
			return false, nil
		}
		bundles, err := caBundleOf(ctx, hook)
		if err != nil {
			return false, err
		}
		for _, b := range bundles {
			if !bytes.Equal(b, st.Bundle()) {
				return false, nil
			}
		}
		return pki.SignedBy(m.Source.Certificate(), st.Current.Cert), nil
	})
	caRotation := time.Since(caStart)
	if !sawTwo {
		t.Error("never saw two CAs trusted at once during the rotation")
	}
	// Keep creating a little longer on the new CA alone.
	after := l.created.Load()
	eventually(t, 10*time.Second, "50 more admissions on the new CA alone", func() (bool, error) {
		return l.created.Load() >= after+50, nil
	})
	l.stop()

	rate := float64(l.created.Load()+l.failed.Load()+l.unlabelled.Load()) / l.elapsed.Seconds()
	t.Logf("pods created: %d in %s (%.1f/s), failed admissions: %d, unlabelled: %d; serving certificates issued during load: %d; CA rotation took %s",
		l.created.Load(), l.elapsed.Round(time.Millisecond), rate, l.failed.Load(), l.unlabelled.Load(), m.Source.Issued()-issuedBefore, caRotation.Round(time.Millisecond))
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d admissions failed during rotation; first: %v", n, l.firstErrors)
	}
	if lines := serverLog.Since(l.start); len(lines) > 0 {
		t.Errorf("the webhook server logged %d errors during the load (failed TLS handshakes?); first: %q", len(lines), lines[0])
	}
	if n := l.unlabelled.Load(); n > 0 {
		t.Errorf("%d pods were created without passing the webhook", n)
	}
	if rate < minRate {
		t.Errorf("pod creation rate %.1f/s is below the required %d/s", rate, minRate)
	}
	if servingRotations < 3 {
		t.Errorf("serving certificate rotated %d times, want at least 3", servingRotations)
	}
	final, _ := m.Authority.State()
	if final.Current.Cert.Equal(firstCA) {
		t.Error("the CA did not change")
	}
	if err := verifies(m.Source.Certificate(), pki.EncodeCert(firstCA)); err == nil {
		t.Error("the serving certificate after rotation still verifies against the old CA")
	}
}

func checkHealthz(t *testing.T, addr string) {
	t.Helper()
	// The test talks to its own server: trust whatever it serves, check the
	// answer only.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s", resp.Status)
	}
}
