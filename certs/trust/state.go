package trust

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/railnet/railnet/certs/pki"
)

// State is the CA set at one moment.
//
// A rotation runs in three steps so that no client ever meets a certificate it
// does not trust: (1) a Next CA is created and added to the bundle while the
// Current CA still signs; (2) at PromoteAt the Next CA becomes Current and
// signs new serving certificates, the old one becomes Previous and stays in the
// bundle; (3) at RetireAt the Previous CA leaves the bundle.
type State struct {
	Current *pki.KeyPair

	Next      *pki.KeyPair
	PromoteAt time.Time

	Previous *x509.Certificate
	RetireAt time.Time

	// RotationHandled is the last value of the rotation request (the Secret's
	// rotate annotation) that started a rotation.
	RotationHandled string
}

// Policy shapes the CA's life.
type Policy struct {
	// CommonName of new CAs.
	CommonName string
	// CA is the CA's lifetime; a rotation starts at CA.RenewAt.
	CA pki.Lifetime
	// Overlap is how long two CAs are trusted together in a rotation: the next
	// CA is trusted Overlap/2 before it signs, and the previous one Overlap/2
	// after it stopped signing.
	Overlap time.Duration
}

// Validate checks that a rotation fits in the CA's life.
func (p Policy) Validate() error {
	if p.CommonName == "" {
		return fmt.Errorf("CA policy: common name is empty")
	}
	if err := p.CA.Validate("CA lifetime"); err != nil {
		return err
	}
	if p.Overlap <= 0 {
		return fmt.Errorf("CA overlap must be positive, got %s", p.Overlap)
	}
	probe := &x509.Certificate{NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).Add(p.CA.Validity)}
	if before := p.CA.RenewBeforeExpiry(probe); p.Overlap >= before {
		return fmt.Errorf("CA overlap %s must be shorter than the time between the start of a rotation and expiry (%s): "+
			"lower the overlap or start rotations earlier", p.Overlap, before)
	}
	return nil
}

// Bundle is the PEM trust bundle: every CA a client must trust now, oldest
// first. The order does not follow the roles, so promoting the next CA leaves
// the bundle unchanged: clients that must restart to read a new bundle
// (kube-scheduler) restart twice per rotation, not three times.
func (s State) Bundle() []byte {
	cas := s.Trusted()
	slices.SortStableFunc(cas, func(a, b *x509.Certificate) int { return a.NotBefore.Compare(b.NotBefore) })
	var b bytes.Buffer
	for _, c := range cas {
		b.Write(pki.EncodeCert(c))
	}
	return b.Bytes()
}

// Trusted lists the trusted CAs: current, next, previous.
func (s State) Trusted() []*x509.Certificate {
	var out []*x509.Certificate
	if s.Current != nil {
		out = append(out, s.Current.Cert)
	}
	if s.Next != nil {
		out = append(out, s.Next.Cert)
	}
	if s.Previous != nil {
		out = append(out, s.Previous)
	}
	return out
}

// NewCAFunc creates a CA; tests may inject a deterministic one.
type NewCAFunc func(commonName string, now time.Time, validity time.Duration) (*pki.KeyPair, error)

// Step is what Advance did.
type Step string

const (
	StepNone    Step = ""
	StepCreate  Step = "create"  // there was no usable CA
	StepReplace Step = "replace" // the current CA had expired: replaced without overlap
	StepBegin   Step = "begin"   // a next CA joined the bundle
	StepPromote Step = "promote" // the next CA became current
	StepRetire  Step = "retire"  // the previous CA left the bundle
)

// Advance returns the state after the one step due at now (StepNone when
// nothing is due). rotate is the current rotation request; a value different
// from s.RotationHandled starts a rotation even before the CA is due. Call it
// again until it returns StepNone to apply every due step.
func Advance(s State, p Policy, now time.Time, rotate string, newCA NewCAFunc) (State, Step, error) {
	if newCA == nil {
		newCA = pki.NewCA
	}
	fresh := func() (*pki.KeyPair, error) {
		kp, err := newCA(p.CommonName, now, p.CA.Validity)
		if err != nil {
			return nil, fmt.Errorf("create CA %q: %w", p.CommonName, err)
		}
		return kp, nil
	}
	half := p.Overlap / 2
	switch {
	case s.Current == nil:
		kp, err := fresh()
		if err != nil {
			return s, StepNone, err
		}
		return State{Current: kp, RotationHandled: rotate}, StepCreate, nil

	case !pki.Valid(s.Current.Cert, now):
		// Clients cannot trust an expired CA anyway: promote a valid next CA
		// at once, or start over.
		if s.Next != nil && pki.Valid(s.Next.Cert, now) {
			return State{Current: s.Next, RotationHandled: s.RotationHandled}, StepReplace, nil
		}
		kp, err := fresh()
		if err != nil {
			return s, StepNone, err
		}
		return State{Current: kp, RotationHandled: rotate}, StepReplace, nil

	case s.Previous != nil && (!now.Before(s.RetireAt) || !pki.Valid(s.Previous, now)):
		out := s
		out.Previous, out.RetireAt = nil, time.Time{}
		return out, StepRetire, nil

	case s.Next != nil && !now.Before(s.PromoteAt):
		if s.Previous != nil {
			// Wait for the previous rotation to finish: a bundle holds at
			// most two CAs. Advance retires it by RetireAt.
			return s, StepNone, nil
		}
		out := s
		out.Previous, out.RetireAt = s.Current.Cert, now.Add(half)
		out.Current, out.Next, out.PromoteAt = s.Next, nil, time.Time{}
		return out, StepPromote, nil

	case s.Next == nil && s.Previous == nil && (p.CA.Due(s.Current.Cert, now) || rotate != s.RotationHandled):
		kp, err := fresh()
		if err != nil {
			return s, StepNone, err
		}
		out := s
		out.Next, out.PromoteAt = kp, now.Add(half)
		out.RotationHandled = rotate
		return out, StepBegin, nil
	}
	return s, StepNone, nil
}

// NextEvent is the earliest moment after which Advance may have work, or the
// zero time when it has none pending besides rotation requests.
func NextEvent(s State, p Policy) time.Time {
	var t time.Time
	earliest := func(c time.Time) {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	if s.Current == nil {
		return t
	}
	earliest(s.Current.Cert.NotAfter)
	if s.Next != nil {
		earliest(s.PromoteAt)
	}
	if s.Previous != nil {
		earliest(s.RetireAt)
	}
	if s.Next == nil && s.Previous == nil {
		earliest(p.CA.RenewAt(s.Current.Cert))
	}
	return t
}
