package serving

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/certs/filesource"
	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/certs/selfmanaged"
)

// Config is what a service's flags set.
type Config struct {
	// CertFile and KeyFile select the cert-manager mode (files mounted from
	// the Secret cert-manager keeps, reloaded on change).
	CertFile, KeyFile string
	// CAFile is cert-manager's ca.crt beside them; with RolloutDeployments,
	// a change of it rolls those Deployments (cert-manager mode).
	CAFile string

	// Self-managed mode: the CA Secret lives in Namespace.
	Namespace string
	// CASecret names the CA Secret (selfmanaged.DefaultSecretName if empty).
	CASecret string
	// Service gives the serving certificate the Service's DNS names.
	Service       string
	ClusterDomain string
	// ExtraSANs: IP literals and DNS names added to the certificate.
	ExtraSANs []string
	// Lifetimes; zero takes selfmanaged's defaults. Certificates are
	// re-issued after two thirds of their life.
	CALifetime, ServingLifetime, CAOverlap time.Duration
	// MutatingWebhooks and ValidatingWebhooks name the configurations whose
	// caBundle is kept current; InjectLabelled adds every configuration
	// labelled railnet.io/inject-ca=true.
	MutatingWebhooks, ValidatingWebhooks []string
	InjectLabelled                       bool
	// BundleConfigMaps receive the bundle under key ca.crt (e.g. for
	// kube-scheduler's extender tlsConfig.caFile).
	BundleConfigMaps []types.NamespacedName
	// RolloutDeployments are rolled when the bundle changes, after the
	// ConfigMaps are written: for kube-scheduler, which reads the extender's
	// CA only at start.
	RolloutDeployments []types.NamespacedName
	// ClientCerts, in self-managed mode, are client certificates of this
	// server's clients kept in Secrets (the scheduler's, for mTLS to the
	// extender), issued by the same CA (see TrustedCAs).
	ClientCerts []selfmanaged.ClientCertOptions
}

// SelfManaged reports whether c selects the self-managed mode.
func (c Config) SelfManaged() bool { return c.CertFile == "" && c.KeyFile == "" }

type source interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	Certificate() *x509.Certificate
	Start(context.Context) error
	Healthy() bool
	HealthError() error
}

// Source is the certificate source of one HTTPS server.
type Source struct {
	src    source
	bundle func() []byte
	// cas are the CAs clients are asked to trust (for the expiry metric).
	cas func() []*x509.Certificate
	// roll, in cert-manager mode, rolls Deployments when ca.crt changes.
	roll interface{ Start(context.Context) error }
}

// New builds the Source for c; cfg reaches the API server (unused in
// cert-manager mode).
func New(cfg *rest.Config, c Config) (*Source, error) {
	if !c.SelfManaged() {
		if c.CertFile == "" || c.KeyFile == "" {
			return nil, fmt.Errorf("cert-manager mode needs both --tls-cert-file and --tls-key-file (got %q and %q); "+
				"leave both empty for the self-managed mode", c.CertFile, c.KeyFile)
		}
		fs, err := filesource.New(filesource.Options{CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile})
		if err != nil {
			return nil, err
		}
		src := &Source{src: fs, bundle: func() []byte { return nil }, cas: func() []*x509.Certificate {
			cas, _ := pki.ParseCerts(fs.Bundle()) // parsed when loaded; nil without a CA file
			return cas
		}}
		if len(c.RolloutDeployments) == 0 {
			return src, nil
		}
		if c.CAFile == "" {
			return nil, errors.New("rolling Deployments on CA changes in cert-manager mode needs the mounted CA file (--tls-ca-file, cert-manager's ca.crt)")
		}
		// Deployments only: the injector patches them and watches nothing.
		cl, err := client.New(cfg, client.Options{})
		if err != nil {
			return nil, fmt.Errorf("certificates: build client: %w", err)
		}
		src.roll = selfmanaged.NewInjector(fs, cl, nil, selfmanaged.InjectorOptions{
			Targets: selfmanaged.Targets{Deployments: c.RolloutDeployments},
		})
		return src, nil
	}
	if c.Namespace == "" {
		return nil, errors.New("self-managed certificates need the namespace of the CA secret (--namespace)")
	}
	targets := selfmanaged.Targets{
		MutatingWebhooks: c.MutatingWebhooks, ValidatingWebhooks: c.ValidatingWebhooks, ConfigMaps: c.BundleConfigMaps,
		Deployments: c.RolloutDeployments,
	}
	if c.InjectLabelled {
		targets.Selector = labels.SelectorFromSet(labels.Set{selfmanaged.LabelInjectCA: "true"})
	}
	m, err := selfmanaged.New(cfg, selfmanaged.Options{
		Namespace: c.Namespace, SecretName: c.CASecret,
		ServiceName: c.Service, ClusterDomain: c.ClusterDomain, ExtraSANs: c.ExtraSANs,
		CA: pki.Lifetime{Validity: c.CALifetime}, CAOverlap: c.CAOverlap,
		Serving:     pki.Lifetime{Validity: c.ServingLifetime},
		Inject:      targets,
		ClientCerts: c.ClientCerts,
	})
	if err != nil {
		return nil, err
	}
	return &Source{src: m, bundle: m.Bundle, cas: func() []*x509.Certificate {
		st, _ := m.Authority.State()
		return st.Trusted()
	}}, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (s *Source) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.src.GetCertificate(hello)
}

// Start runs the source until ctx ends.
func (s *Source) Start(ctx context.Context) error {
	if s.roll == nil {
		return s.src.Start(ctx)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.src.Start(ctx) })
	g.Go(func() error { return s.roll.Start(ctx) })
	return g.Wait()
}

// Healthy reports whether a valid certificate is loaded (for /healthz).
func (s *Source) Healthy() bool { return s.src.Healthy() }

// HealthError says why Healthy is false, nil when it is true.
func (s *Source) HealthError() error { return s.src.HealthError() }

// TrustedCAs are the CAs of the bundle clients trust: the self-managed
// CAs, or cert-manager's ca.crt (nil without --tls-ca-file). They also sign
// the client certificates of ClientCerts, so a server verifying its clients
// trusts them.
func (s *Source) TrustedCAs() []*x509.Certificate { return s.cas() }

// Bundle is the PEM trust bundle in self-managed mode (nil before the CA is
// read, and always nil in cert-manager mode, where cert-manager publishes it).
func (s *Source) Bundle() []byte { return s.bundle() }
