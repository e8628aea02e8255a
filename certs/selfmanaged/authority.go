package selfmanaged

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/trust"
)

// AuthorityOptions configure an Authority.
type AuthorityOptions struct {
	// Secret is where the CA is kept.
	Secret types.NamespacedName
	// Labels are set on the Secret when it is created.
	Labels map[string]string
	// Policy is the CA's common name, lifetime and rotation overlap.
	Policy trust.Policy
	// Resync re-reads the Secret this often even without events.
	Resync time.Duration
	// Clock; the real clock when nil.
	Clock clock.WithTicker
	// NewCA creates CAs; pki.NewCA when nil.
	NewCA trust.NewCAFunc
}

// Authority keeps the CA Secret and the CA state it holds. Any number of
// replicas may run one against the same Secret: writes are optimistic (create,
// or update at the read resourceVersion), a loser re-reads the winner's state.
type Authority struct {
	opts    AuthorityOptions
	client  client.Client // reads from the cache, writes to the API server
	direct  client.Reader // reads from the API server
	trigger chan struct{}

	mu     sync.Mutex
	state  trust.State
	loaded bool
	subs   []chan struct{}
}

// NewAuthority returns an Authority that reads the Secret through c (usually
// backed by a cache watching it) and, when c does not find it, through direct.
func NewAuthority(c client.Client, direct client.Reader, opts AuthorityOptions) (*Authority, error) {
	if opts.Secret.Name == "" || opts.Secret.Namespace == "" {
		return nil, fmt.Errorf("CA secret: name and namespace are required, got %q", opts.Secret.String())
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Resync <= 0 {
		opts.Resync = 30 * time.Second
	}
	return &Authority{opts: opts, client: c, direct: direct, trigger: make(chan struct{}, 1)}, nil
}

// Trigger asks for a sync soon (e.g. on a Secret event).
func (a *Authority) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Subscribe returns a channel that receives a value after each change of the
// CA state (buffered: a slow reader sees one value for several changes).
func (a *Authority) Subscribe() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{}, 1)
	a.subs = append(a.subs, ch)
	if a.loaded {
		ch <- struct{}{}
	}
	return ch
}

// Current is the CA that signs serving certificates now; nil before the first
// sync.
func (a *Authority) Current() *pki.KeyPair {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.Current
}

// Bundle is the PEM trust bundle; nil before the first sync.
func (a *Authority) Bundle() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.loaded {
		return nil
	}
	return a.state.Bundle()
}

// State is a copy of the CA state last read or written.
func (a *Authority) State() (trust.State, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state, a.loaded
}

// Start syncs the Secret until ctx ends: on Trigger, at the next due rotation
// step, and every Resync.
func (a *Authority) Start(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("secret", a.opts.Secret.String())
	ctx = klog.NewContext(ctx, log)
	resync := a.opts.Clock.NewTicker(a.opts.Resync)
	defer resync.Stop()
	for {
		wait := a.opts.Resync
		next, err := a.sync(ctx)
		switch {
		case err != nil:
			log.Error(err, "Sync the CA secret; retrying")
			wait = time.Second
		case !next.IsZero():
			wait = min(wait, max(next.Sub(a.opts.Clock.Now()), 0)+10*time.Millisecond)
		}
		timer := a.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-a.trigger:
		case <-timer.C():
		case <-resync.C():
		}
		timer.Stop()
	}
}

// sync reads the Secret, applies the due rotation steps, writes the result
// when it changed and adopts what the Secret holds. It returns when the next
// step is due.
func (a *Authority) sync(ctx context.Context) (time.Time, error) {
	log := klog.FromContext(ctx)
	key := a.opts.Secret
	var sec corev1.Secret
	err := a.client.Get(ctx, key, &sec)
	if apierrors.IsNotFound(err) {
		err = a.direct.Get(ctx, key, &sec) // the cache may not have seen it yet
	}
	if apierrors.IsNotFound(err) {
		return a.create(ctx)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read CA secret %s: %w", key, err)
	}

	state, errs := trust.Decode(sec.Data)
	for _, e := range errs {
		log.Error(e, "Broken part of the CA secret; repairing it")
	}
	if held, loaded := a.State(); state.Current == nil && loaded {
		// The current CA in the Secret is unreadable: write back the one
		// this replica holds rather than breaking every client's trust.
		log.Info("CA secret holds no usable CA; restoring the CA this replica holds")
		state = held
	}
	state, err = a.advance(ctx, state, sec.Annotations[trust.AnnotationRotate])
	if err != nil {
		return time.Time{}, err
	}
	data := trust.Encode(state)
	if !trust.Equal(data, sec.Data) {
		upd := sec.DeepCopy()
		upd.Data = data
		if err := a.client.Update(ctx, upd); err != nil {
			if apierrors.IsConflict(err) {
				// Another replica wrote first: read its state next.
				a.Trigger()
				return time.Time{}, nil
			}
			return time.Time{}, fmt.Errorf("update CA secret %s: %w", key, err)
		}
	}
	a.adopt(state)
	return trust.NextEvent(state, a.opts.Policy), nil
}

func (a *Authority) create(ctx context.Context) (time.Time, error) {
	key := a.opts.Secret
	// A replica that already holds the CA writes it back (the Secret was
	// deleted): clients keep trusting it. Only a replica that never had one
	// makes a new CA.
	held, loaded := a.State()
	from := trust.State{}
	if loaded {
		from = held
		klog.FromContext(ctx).Info("CA secret is gone; restoring the CA this replica holds")
	}
	state, err := a.advance(ctx, from, from.RotationHandled)
	if err != nil {
		return time.Time{}, err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace, Labels: a.opts.Labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       trust.Encode(state),
	}
	err = a.client.Create(ctx, sec)
	if apierrors.IsAlreadyExists(err) {
		// Another replica created it at the same moment: take theirs.
		klog.FromContext(ctx).Info("CA secret created by another replica; adopting it")
		var theirs corev1.Secret
		if err := a.direct.Get(ctx, key, &theirs); err != nil {
			return time.Time{}, fmt.Errorf("read CA secret %s created by another replica: %w", key, err)
		}
		st, errs := trust.Decode(theirs.Data)
		if len(errs) > 0 || st.Current == nil {
			a.Trigger() // broken or empty: the next sync repairs it
			return time.Time{}, nil
		}
		a.adopt(st)
		return trust.NextEvent(st, a.opts.Policy), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("create CA secret %s: %w", key, err)
	}
	klog.FromContext(ctx).Info("Created CA secret", "notAfter", state.Current.Cert.NotAfter)
	a.adopt(state)
	return trust.NextEvent(state, a.opts.Policy), nil
}

// advance applies every rotation step due now.
func (a *Authority) advance(ctx context.Context, state trust.State, rotate string) (trust.State, error) {
	now := a.opts.Clock.Now()
	for range 8 {
		next, step, err := trust.Advance(state, a.opts.Policy, now, rotate, a.opts.NewCA)
		if err != nil {
			return state, err
		}
		if step == trust.StepNone {
			return state, nil
		}
		klog.FromContext(ctx).Info("CA rotation step", "step", step)
		state = next
	}
	return state, nil
}

func (a *Authority) adopt(s trust.State) {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := !a.loaded || !bytes.Equal(a.state.Bundle(), s.Bundle()) ||
		!a.state.Current.Cert.Equal(s.Current.Cert)
	a.state, a.loaded = s, true
	if !changed {
		return
	}
	for _, ch := range a.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
