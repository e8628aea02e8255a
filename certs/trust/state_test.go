package trust

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/railnet/railnet/certs/pki"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var policy = Policy{
	CommonName: "railnet-ca",
	CA:         pki.Lifetime{Validity: 300 * time.Hour}, // rotation starts at 200h
	Overlap:    20 * time.Hour,
}

// serials names each trusted CA by the moment it was created (hours after t0).
func hours(s State) (cur, next, prev int) {
	h := func(c *x509.Certificate) int {
		if c == nil {
			return -1
		}
		return int(c.NotBefore.Sub(t0) / time.Hour)
	}
	cur, next, prev = -1, -1, -1
	if s.Current != nil {
		cur = h(s.Current.Cert)
	}
	if s.Next != nil {
		next = h(s.Next.Cert)
	}
	return cur, next, h(s.Previous)
}

// advanceAll applies every step due at now.
func advanceAll(t *testing.T, s State, now time.Time, rotate string) (State, []Step) {
	t.Helper()
	var steps []Step
	for range 10 {
		out, step, err := Advance(s, policy, now, rotate, nil)
		if err != nil {
			t.Fatal(err)
		}
		if step == StepNone {
			return out, steps
		}
		steps, s = append(steps, step), out
	}
	t.Fatal("Advance does not settle")
	return s, steps
}

func TestRotationTimeline(t *testing.T) {
	var s State
	type want struct {
		at               time.Duration
		rotate           string
		steps            string
		cur, next, prev  int
		bundle           int
		nextEventInHours int // from t0; -1 for none
	}
	for _, w := range []want{
		{at: 0, steps: "create", cur: 0, next: -1, prev: -1, bundle: 1, nextEventInHours: 200},
		{at: 199 * time.Hour, steps: "", cur: 0, next: -1, prev: -1, bundle: 1, nextEventInHours: 200},
		{at: 200 * time.Hour, steps: "begin", cur: 0, next: 200, prev: -1, bundle: 2, nextEventInHours: 210},
		{at: 209 * time.Hour, steps: "", cur: 0, next: 200, prev: -1, bundle: 2, nextEventInHours: 210},
		{at: 210 * time.Hour, steps: "promote", cur: 200, next: -1, prev: 0, bundle: 2, nextEventInHours: 220},
		{at: 220 * time.Hour, steps: "retire", cur: 200, next: -1, prev: -1, bundle: 1, nextEventInHours: 400},
		// A rotation request starts a rotation long before the CA is due.
		{at: 230 * time.Hour, rotate: "r1", steps: "begin", cur: 200, next: 230, prev: -1, bundle: 2, nextEventInHours: 240},
		// The same request again does nothing more.
		{at: 239 * time.Hour, rotate: "r1", steps: "", cur: 200, next: 230, prev: -1, bundle: 2, nextEventInHours: 240},
		// Waking up late promotes; the previous CA stays trusted for half the
		// overlap after the promotion that really happened, not the planned one.
		{at: 260 * time.Hour, rotate: "r1", steps: "promote", cur: 230, next: -1, prev: 200, bundle: 2, nextEventInHours: 270},
		{at: 270 * time.Hour, rotate: "r1", steps: "retire", cur: 230, next: -1, prev: -1, bundle: 1, nextEventInHours: 430},
		// Down for longer than the CA lives: the expired CA is replaced without overlap.
		{at: 600 * time.Hour, rotate: "r1", steps: "replace", cur: 600, next: -1, prev: -1, bundle: 1, nextEventInHours: 800},
	} {
		var steps []Step
		s, steps = advanceAll(t, s, t0.Add(w.at), w.rotate)
		var names []string
		for _, st := range steps {
			names = append(names, string(st))
		}
		cur, next, prev := hours(s)
		if got := strings.Join(names, ","); got != w.steps || cur != w.cur || next != w.next || prev != w.prev {
			t.Fatalf("at %s: steps %q current %d next %d previous %d; want %q %d %d %d",
				w.at, got, cur, next, prev, w.steps, w.cur, w.next, w.prev)
		}
		certs, err := pki.ParseCerts(s.Bundle())
		if err != nil || len(certs) != w.bundle {
			t.Fatalf("at %s: bundle of %d (%v), want %d", w.at, len(certs), err, w.bundle)
		}
		if ev := NextEvent(s, policy); !ev.Equal(t0.Add(time.Duration(w.nextEventInHours) * time.Hour)) {
			t.Fatalf("at %s: next event %s, want %dh after t0", w.at, ev, w.nextEventInHours)
		}
		// The state survives a trip through the Secret.
		back, errs := Decode(Encode(s))
		if len(errs) > 0 {
			t.Fatalf("at %s: decode: %v", w.at, errs)
		}
		if !Equal(Encode(back), Encode(s)) {
			t.Fatalf("at %s: state changed through the Secret", w.at)
		}
	}
}

// During the whole rotation a serving certificate signed by whichever CA
// signs at that moment verifies against the bundle published at that moment
// and against the bundle published one step earlier (clients that have not yet
// seen the newest bundle).
func TestRotationNeverStrandsAClient(t *testing.T) {
	s, _ := advanceAll(t, State{}, t0, "")
	prevBundle := s.Bundle()
	for h := 1; h <= 260; h++ {
		now := t0.Add(time.Duration(h) * time.Hour)
		var steps []Step
		s, steps = advanceAll(t, s, now, "")
		leaf, err := pki.IssueServing(s.Current, pki.ServingRequest{CommonName: "w", DNSNames: []string{"w"}, Validity: time.Hour}, now)
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"current": s.Bundle(), "one step old": prevBundle} {
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(b)
			if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: "w", Roots: roots, CurrentTime: now}); err != nil {
				t.Fatalf("at %dh (steps %v): leaf does not verify against the %s bundle: %v", h, steps, name, err)
			}
		}
		if len(steps) > 0 {
			prevBundle = s.Bundle()
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{CA: pki.Lifetime{Validity: time.Hour}, Overlap: time.Minute}, "CA policy: common name is empty"},
		{Policy{CommonName: "c", CA: pki.Lifetime{Validity: 300 * time.Hour}, Overlap: 100 * time.Hour},
			"CA overlap 100h0m0s must be shorter than the time between the start of a rotation and expiry (100h0m0s): lower the overlap or start rotations earlier"},
		{Policy{CommonName: "c", CA: pki.Lifetime{Validity: 300 * time.Hour}}, "CA overlap must be positive, got 0s"},
	} {
		if err := tc.p.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	if err := policy.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeRepairsBrokenParts(t *testing.T) {
	s, _ := advanceAll(t, State{}, t0, "")
	s, _ = advanceAll(t, s, t0.Add(200*time.Hour), "")
	good := Encode(s)

	broken := Encode(s)
	broken[KeyPromoteAt] = []byte("soon")
	got, errs := Decode(broken)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "next CA (next.crt/next.key/next-promote-at)") || got.Next != nil || got.Current == nil {
		t.Fatalf("broken promote time: next=%v errs=%v", got.Next, errs)
	}

	broken = Encode(s)
	broken[KeyKey] = good[KeyNextKey]
	got, errs = Decode(broken)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "current CA (tls.crt/tls.key): certificate and key do not form a pair") || got.Current != nil {
		t.Fatalf("mismatched current key: current=%v errs=%v", got.Current, errs)
	}
	if got, errs := Decode(map[string][]byte{}); got.Current != nil || errs != nil {
		t.Fatalf("empty data: %+v %v", got, errs)
	}
}

// Promotion swaps roles but not the trusted set: the bundle bytes stay the
// same, so a client that restarts on every bundle change (kube-scheduler)
// restarts at begin and at retire only.
func TestPromotionKeepsTheBundle(t *testing.T) {
	s, _ := advanceAll(t, State{}, t0, "")
	s, steps := advanceAll(t, s, t0.Add(200*time.Hour), "")
	if len(steps) != 1 || steps[0] != StepBegin {
		t.Fatalf("steps %v, want begin", steps)
	}
	begun := s.Bundle()
	s, steps = advanceAll(t, s, t0.Add(210*time.Hour), "")
	if len(steps) != 1 || steps[0] != StepPromote {
		t.Fatalf("steps %v, want promote", steps)
	}
	if got := s.Bundle(); string(got) != string(begun) {
		t.Errorf("promotion changed the bundle:\n%s\nwant\n%s", got, begun)
	}
	certs, err := pki.ParseCerts(begun)
	if err != nil || len(certs) != 2 || !certs[0].NotBefore.Before(certs[1].NotBefore) {
		t.Errorf("bundle is not the two CAs oldest first: %d certificates, %v", len(certs), err)
	}
}
