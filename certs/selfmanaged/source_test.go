package selfmanaged

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/test/poll"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// heldCA is a SigningCA held in memory, for timing tests of Source.
type heldCA struct {
	mu  sync.Mutex
	kp  *pki.KeyPair
	sub chan struct{}
}

func (h *heldCA) Current() *pki.KeyPair {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.kp
}

func (h *heldCA) Subscribe() <-chan struct{} { return h.sub }

func (h *heldCA) set(kp *pki.KeyPair) {
	h.mu.Lock()
	h.kp = kp
	h.mu.Unlock()
	select {
	case h.sub <- struct{}{}:
	default:
	}
}

func TestSourceReissuesOnScheduleAndOnCAChange(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	ca := &heldCA{sub: make(chan struct{}, 1)}
	src, err := NewSource(ca, SourceOptions{
		CommonName: "railnet-webhook", DNSNames: []string{"railnet-webhook.railnet.svc"},
		Lifetime: pki.Lifetime{Validity: 30 * time.Minute, RenewFraction: 0.5}, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	if src.Healthy() {
		t.Fatal("healthy without a certificate")
	}
	if _, err := src.GetCertificate(&tls.ClientHelloInfo{}); err != ErrNoCertificate {
		t.Fatalf("GetCertificate without a CA: %v", err)
	}

	first, err := pki.NewCA("ca-1", t0, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca.set(first)
	poll.Until(t, 10*time.Second, "the first certificate", poll.True(func() bool { return src.Issued() == 1 }))
	if !src.Healthy() || !pki.SignedBy(src.Certificate(), first.Cert) {
		t.Fatal("first certificate not served or not signed by the CA")
	}

	// 14m59s: not yet due (renewal at half of 30m).
	poll.Until(t, 10*time.Second, "the renewal timer", poll.True(clk.HasWaiters))
	clk.Step(14*time.Minute + 59*time.Second)
	poll.Until(t, 10*time.Second, "the renewal timer re-armed", poll.True(clk.HasWaiters))
	if src.Issued() != 1 {
		t.Fatalf("re-issued %d times before the renewal moment", src.Issued()-1)
	}
	clk.Step(time.Second)
	poll.Until(t, 10*time.Second, "the scheduled re-issue", poll.True(func() bool { return src.Issued() == 2 }))

	// A new CA: re-issued at once, without any time passing.
	second, err := pki.NewCA("ca-2", clk.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca.set(second)
	poll.Until(t, 10*time.Second, "the re-issue after the CA change", poll.True(func() bool { return src.Issued() == 3 }))
	tc, err := src.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil || !pki.SignedBy(tc.Leaf, second.Cert) {
		t.Fatalf("served certificate not signed by the new CA: %v", err)
	}
	if !src.Healthy() {
		t.Fatal("not healthy with a fresh certificate")
	}
}

func TestSourceOptionsRefusals(t *testing.T) {
	ca := &heldCA{sub: make(chan struct{}, 1)}
	_, err := NewSource(ca, SourceOptions{CommonName: "w", Lifetime: pki.Lifetime{Validity: time.Hour}})
	if err == nil || err.Error() != `serving certificate "w": no DNS name or IP address to certify` {
		t.Fatalf("got %v", err)
	}
	_, err = NewSource(ca, SourceOptions{CommonName: "w", DNSNames: []string{"w"}})
	if err == nil || err.Error() != "serving certificate lifetime: validity must be positive, got 0s" {
		t.Fatalf("got %v", err)
	}
}

// A CA that expires and is never replaced: the clamped serving certificate
// expires with it, re-issue fails, and Healthy turns false with a reason.
func TestSourceUnhealthyWhenItsCertificateExpires(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	ca := &heldCA{sub: make(chan struct{}, 1)}
	short, err := pki.NewCA("ca", t0, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ca.set(short)
	src, err := NewSource(ca, SourceOptions{CommonName: "railnet-webhook", DNSNames: []string{"railnet-webhook"},
		Lifetime: pki.Lifetime{Validity: time.Hour}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.ensure(t0); err != nil {
		t.Fatal(err)
	}
	if got := src.Certificate().NotAfter; !got.Equal(short.Cert.NotAfter) {
		t.Fatalf("serving certificate ends %s, want the CA's end %s", got, short.Cert.NotAfter)
	}
	if err := src.HealthError(); err != nil {
		t.Fatal(err)
	}
	clk.SetTime(t0.Add(10 * time.Minute))
	if _, err := src.ensure(clk.Now()); err == nil {
		t.Fatal("issued from an expired CA")
	}
	if src.Healthy() {
		t.Fatal("healthy with an expired certificate")
	}
	want := `serving certificate "railnet-webhook" is outside its validity 2026-03-01T12:00:00Z..2026-03-01T12:10:00Z; check the CA secret and the logs`
	if err := src.HealthError(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
