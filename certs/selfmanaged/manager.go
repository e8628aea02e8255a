package selfmanaged

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/trust"
)

// Defaults of Options.
const (
	DefaultSecretName   = "railnet-ca"
	DefaultCACommonName = "railnet-ca"
	DefaultCAValidity   = 365 * 24 * time.Hour
	DefaultCAOverlap    = 24 * time.Hour
	DefaultServing      = 7 * 24 * time.Hour
)

// Options configure a Manager. Zero values take the defaults above.
type Options struct {
	// Namespace of the CA Secret and of the Service (required).
	Namespace string
	// SecretName of the CA Secret.
	SecretName string
	// SecretLabels are set on the Secret when it is created.
	SecretLabels map[string]string

	// ServiceName gives the serving certificate the Service's DNS names
	// (svc, svc.ns, svc.ns.svc, svc.ns.svc.<ClusterDomain>).
	ServiceName   string
	ClusterDomain string
	// ExtraSANs are added: IP literals as IP SANs, others as DNS names.
	ExtraSANs []string

	CACommonName string
	// CA lifetime; a rotation starts at its renewal moment (default: after
	// two thirds of it).
	CA pki.Lifetime
	// CAOverlap is how long old and new CA are trusted together.
	CAOverlap time.Duration
	// Serving certificate lifetime; re-issued at its renewal moment.
	Serving pki.Lifetime

	// Inject selects the webhook configurations to keep the caBundle of.
	Inject Targets
	// ClientCerts are client certificates kept in Secrets for this
	// server's clients (the scheduler calling the extender); a zero
	// Lifetime takes Serving's.
	ClientCerts []ClientCertOptions

	// Resync bounds how long a missed event can go unnoticed (default 30s).
	Resync time.Duration
	// Clock; the real clock when nil.
	Clock clock.WithTicker
}

func (o *Options) defaults() {
	if o.SecretName == "" {
		o.SecretName = DefaultSecretName
	}
	if o.CACommonName == "" {
		o.CACommonName = DefaultCACommonName
	}
	if o.CA.Validity == 0 {
		o.CA.Validity = DefaultCAValidity
	}
	if o.CAOverlap == 0 {
		o.CAOverlap = DefaultCAOverlap
	}
	if o.Serving.Validity == 0 {
		o.Serving.Validity = DefaultServing
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

// Manager is the self-managed mode: CA Secret, serving certificate and
// caBundle injection. It is a certificate source (GetCertificate, Start,
// Healthy) for an HTTPS server.
type Manager struct {
	cache     cache.Cache
	Authority *Authority
	Source    *Source
	Injector  *Injector
	Clients   []*ClientCert
}

// New builds a Manager talking to the API server of cfg. Its cache watches
// only the CA Secret and the webhook configurations.
func New(cfg *rest.Config, opts Options) (*Manager, error) {
	opts.defaults()
	if opts.Namespace == "" {
		return nil, errors.New("certificates: the namespace of the CA secret is required (e.g. the pod's namespace)")
	}
	dns, ips, err := pki.SANs(opts.ServiceName, opts.Namespace, opts.ClusterDomain, opts.ExtraSANs)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	for _, k := range opts.Inject.ConfigMaps {
		if k.Name == "" || k.Namespace == "" {
			return nil, fmt.Errorf("certificates: CA bundle ConfigMap %q needs a namespace and a name", k.String())
		}
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	byObject := map[client.Object]cache.ByObject{
		&corev1.Secret{}: {
			Namespaces: map[string]cache.Config{opts.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", opts.SecretName),
		},
	}
	if t := opts.Inject; t.Selector != nil && len(t.MutatingWebhooks) == 0 && len(t.ValidatingWebhooks) == 0 {
		byObject[&admissionregistrationv1.MutatingWebhookConfiguration{}] = cache.ByObject{Label: t.Selector}
		byObject[&admissionregistrationv1.ValidatingWebhookConfiguration{}] = cache.ByObject{Label: t.Selector}
	}
	if len(opts.Inject.ConfigMaps) > 0 {
		byObject[&corev1.ConfigMap{}] = cache.ByObject{Namespaces: configMapNamespaces(opts.Inject.ConfigMaps)}
	}
	ch, err := cache.New(cfg, cache.Options{Scheme: scheme, ByObject: byObject})
	if err != nil {
		return nil, fmt.Errorf("certificates: build cache: %w", err)
	}
	cached, err := client.New(cfg, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: ch}})
	if err != nil {
		return nil, fmt.Errorf("certificates: build client: %w", err)
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("certificates: build client: %w", err)
	}
	auth, err := NewAuthority(cached, direct, AuthorityOptions{
		Secret: types.NamespacedName{Namespace: opts.Namespace, Name: opts.SecretName},
		Labels: opts.SecretLabels,
		Policy: trust.Policy{CommonName: opts.CACommonName, CA: opts.CA, Overlap: opts.CAOverlap},
		Resync: opts.Resync,
		Clock:  opts.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	cn := opts.ServiceName
	if cn == "" {
		cn = dnsOrIP(dns, ips)
	}
	src, err := NewSource(auth, SourceOptions{CommonName: cn, DNSNames: dns, IPs: ips, Lifetime: opts.Serving, Clock: opts.Clock})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	inj := NewInjector(auth, cached, ch, InjectorOptions{Targets: opts.Inject, Resync: opts.Resync, Clock: opts.Clock})
	m := &Manager{cache: ch, Authority: auth, Source: src, Injector: inj}
	for _, co := range opts.ClientCerts {
		if co.Lifetime.Validity == 0 {
			co.Lifetime = opts.Serving
		}
		if co.Clock == nil {
			co.Clock = opts.Clock
		}
		cc, err := NewClientCert(auth, auth.Bundle, direct, co)
		if err != nil {
			return nil, fmt.Errorf("certificates: %w", err)
		}
		m.Clients = append(m.Clients, cc)
	}
	return m, nil
}

// configMapNamespaces watches, per namespace, the one target ConfigMap by
// name, or all ConfigMaps when a namespace has several targets.
func configMapNamespaces(keys []types.NamespacedName) map[string]cache.Config {
	names := map[string][]string{}
	for _, k := range keys {
		names[k.Namespace] = append(names[k.Namespace], k.Name)
	}
	out := map[string]cache.Config{}
	for ns, n := range names {
		if len(n) == 1 {
			out[ns] = cache.Config{FieldSelector: fields.OneTermEqualSelector("metadata.name", n[0])}
		} else {
			out[ns] = cache.Config{}
		}
	}
	return out
}

func dnsOrIP(dns []string, ips []net.IP) string {
	if len(dns) > 0 {
		return dns[0]
	}
	return ips[0].String()
}

// Start runs the cache, the authority, the serving source and the injector
// until ctx ends or one of them fails.
func (m *Manager) Start(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	secretInformer, err := m.cache.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("certificates: watch the CA secret: %w", err)
	}
	if _, err := secretInformer.AddEventHandler(eventFunc(m.Authority.Trigger)); err != nil {
		return fmt.Errorf("certificates: watch the CA secret: %w", err)
	}
	errs := make(chan error, 4+len(m.Clients))
	run := func(name string, f func(context.Context) error) {
		go func() {
			err := f(ctx)
			if err != nil {
				err = fmt.Errorf("certificates: %s: %w", name, err)
			}
			errs <- err
		}()
	}
	run("cache", m.cache.Start)
	if !m.cache.WaitForCacheSync(ctx) {
		cancel()
		if err := <-errs; err != nil {
			return err
		}
		if parent.Err() != nil {
			return nil // stopped while starting
		}
		return errors.New("certificates: the cache of the CA secret and webhook configurations did not sync")
	}
	run("authority", m.Authority.Start)
	run("serving certificate", m.Source.Start)
	run("caBundle injector", m.Injector.Start)
	for _, cc := range m.Clients {
		run("client certificate "+cc.opts.Secret.String(), cc.Start)
	}
	var first error
	for range 4 + len(m.Clients) {
		err := <-errs
		if first == nil && ctx.Err() == nil {
			first = err
			if err == nil {
				first = errors.New("certificates: a component stopped early")
			}
		}
		cancel()
	}
	return first
}

// GetCertificate serves tls.Config.GetCertificate.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return m.Source.GetCertificate(hello)
}

// Healthy reports whether a valid serving certificate is loaded.
func (m *Manager) Healthy() bool { return m.Source.Healthy() }

// HealthError says why Healthy is false (nil when it is true).
func (m *Manager) HealthError() error { return m.Source.HealthError() }

// Bundle is the current PEM trust bundle (for clients of this server).
func (m *Manager) Bundle() []byte { return m.Authority.Bundle() }

// Certificate is the served leaf certificate, nil before the first issue.
func (m *Manager) Certificate() *x509.Certificate { return m.Source.Certificate() }

func eventFunc(f func()) toolscacheHandler {
	return toolscacheHandler{f: f}
}
