package selfmanaged

import (
	"bytes"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/pki"
)

// ClientCertOptions name a client certificate kept in a Secret.
type ClientCertOptions struct {
	// Secret receives tls.crt, tls.key and ca.crt (type kubernetes.io/tls).
	Secret types.NamespacedName
	// CommonName of the certificate (the client's name).
	CommonName string
	// Lifetime of the certificate and when it is re-issued.
	Lifetime pki.Lifetime
	// Labels are set on the Secret.
	Labels map[string]string
	// Clock; the real clock when nil.
	Clock clock.WithTicker
}

// ClientCert keeps a client certificate signed by the current CA in a
// Secret, for a client of this server that mounts it (kube-scheduler's
// extender tlsConfig certFile/keyFile; client-go re-reads changed files, so
// a renewal needs no restart). It re-issues the certificate before it is
// due, when the signing CA changes and when the Secret is lost or damaged.
type ClientCert struct {
	ca     SigningCA
	bundle func() []byte
	c      client.Client
	opts   ClientCertOptions
}

// NewClientCert returns a ClientCert issuing from ca; bundle is the trust
// bundle written as ca.crt; c reads and writes the Secret.
func NewClientCert(ca SigningCA, bundle func() []byte, c client.Client, opts ClientCertOptions) (*ClientCert, error) {
	if opts.Secret.Name == "" || opts.Secret.Namespace == "" {
		return nil, fmt.Errorf("client certificate %q: the Secret needs a namespace and a name (got %q)", opts.CommonName, opts.Secret.String())
	}
	if err := opts.Lifetime.Validate("client certificate lifetime"); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &ClientCert{ca: ca, bundle: bundle, c: c, opts: opts}, nil
}

// Start keeps the Secret current until ctx ends.
func (k *ClientCert) Start(ctx context.Context) error {
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("secret", k.opts.Secret.String()))
	return reissueLoop(ctx, k.opts.Clock, k.ca.Subscribe(), 5*time.Second, "Keep the client certificate; retrying",
		func(now time.Time) (time.Duration, error) { return k.ensure(ctx, now) })
}

// ensure writes a new certificate when the Secret lacks a valid one signed
// by the current CA and not yet due, or carries an old ca.crt. It returns
// how long to wait before the next check.
func (k *ClientCert) ensure(ctx context.Context, now time.Time) (time.Duration, error) {
	ca := k.ca.Current()
	bundle := k.bundle()
	if ca == nil || len(bundle) == 0 {
		return idleWait, nil // Subscribe wakes us when the CA is read
	}
	sec := &corev1.Secret{}
	err := k.c.Get(ctx, k.opts.Secret, sec)
	if client.IgnoreNotFound(err) != nil {
		return 0, fmt.Errorf("read Secret %s: %w", k.opts.Secret, err)
	}
	exists := err == nil
	if exists {
		kp, perr := pki.ParseKeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey])
		if perr == nil && pki.SignedBy(kp.Cert, ca.Cert) && pki.Valid(kp.Cert, now) && !k.opts.Lifetime.Due(kp.Cert, now) &&
			bytes.Equal(sec.Data["ca.crt"], bundle) {
			return min(idleWait, k.opts.Lifetime.RenewAt(kp.Cert).Sub(now)), nil
		}
	}
	kp, err := pki.IssueClient(ca, k.opts.CommonName, k.opts.Lifetime.Validity, now)
	if err != nil {
		return 0, err
	}
	data := map[string][]byte{corev1.TLSCertKey: kp.CertPEM, corev1.TLSPrivateKeyKey: kp.KeyPEM, "ca.crt": bundle}
	if exists {
		sec.Data = data
		err = k.c.Update(ctx, sec)
	} else {
		err = k.c.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: k.opts.Secret.Namespace, Name: k.opts.Secret.Name, Labels: k.opts.Labels},
			Type:       corev1.SecretTypeTLS, Data: data,
		})
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		return time.Second, nil // another replica wrote it: check what it wrote
	}
	if err != nil {
		return 0, fmt.Errorf("write client certificate %q to Secret %s: %w", k.opts.CommonName, k.opts.Secret, err)
	}
	klog.FromContext(ctx).Info("Issued the client certificate", "secret", k.opts.Secret.String(), "commonName", k.opts.CommonName,
		"notAfter", kp.Cert.NotAfter.UTC().Format(time.RFC3339))
	return min(idleWait, max(k.opts.Lifetime.RenewAt(kp.Cert).Sub(now), time.Second)), nil
}
