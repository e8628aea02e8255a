package store

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1alpha1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/inject"
)

// Store reads through r, normally the manager's cache.
type Store struct {
	r         client.Reader
	configMap client.ObjectKey
	// Allocations reads IPAllocations; r when nil. The service sets the
	// API server itself: an allocation written a moment ago must stop a
	// pool's deletion or shrink, and a cache may not show it yet. Pool
	// updates are rare, so the live read costs little and spares a watch
	// of every allocation.
	Allocations client.Reader

	mu       sync.Mutex
	parsedRV string // resourceVersion of the ConfigMap behind parsed
	parsed   inject.Config
}

// New returns a Store reading the service configuration from the ConfigMap
// configMap.
func New(r client.Reader, configMap client.ObjectKey) *Store {
	return &Store{r: r, configMap: configMap}
}

// InjectConfig reads the ConfigMap now. A missing ConfigMap means
// injection is off; an unparsable one is an error so pods are not silently
// left without their networks.
func (s *Store) InjectConfig(ctx context.Context) (inject.Config, error) {
	var cm corev1.ConfigMap
	if err := s.r.Get(ctx, s.configMap, &cm, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return inject.Config{}, nil
		}
		return inject.Config{}, fmt.Errorf("get ConfigMap %s: %w", s.configMap, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cm.ResourceVersion != "" && cm.ResourceVersion == s.parsedRV {
		return s.parsed, nil // unchanged since the last request
	}
	cfg, err := ParseConfig(cm.Data)
	if err != nil {
		return inject.Config{}, fmt.Errorf("ConfigMap %s: %w", s.configMap, err)
	}
	s.parsedRV, s.parsed = cm.ResourceVersion, cfg
	return cfg, nil
}

// NamespaceAnnotations returns the namespace's annotations, shared with
// the cache: callers must not modify them.
func (s *Store) NamespaceAnnotations(ctx context.Context, name string) (map[string]string, error) {
	var ns corev1.Namespace
	// Read-only use (every review of a pod without its own group reads
	// it): skip the cache's deep copy.
	if err := s.r.Get(ctx, client.ObjectKey{Name: name}, &ns, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", name, err)
	}
	return ns.Annotations, nil
}

// MultusConfigs lists every SpiderMultusConfig.
func (s *Store) MultusConfigs(ctx context.Context) ([]*spiderv2beta1.SpiderMultusConfig, error) {
	var l spiderv2beta1.SpiderMultusConfigList
	// Read-only use: skip the cache's deep copy.
	if err := s.r.List(ctx, &l, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list SpiderMultusConfigs: %w", err)
	}
	out := make([]*spiderv2beta1.SpiderMultusConfig, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out, nil
}

// IPPools lists every SpiderIPPool.
func (s *Store) IPPools(ctx context.Context) ([]spiderv2beta1.SpiderIPPool, error) {
	var l spiderv2beta1.SpiderIPPoolList
	if err := s.r.List(ctx, &l, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list SpiderIPPools: %w", err)
	}
	return l.Items, nil
}

// AllocatedIPs returns the addresses of pool's IPAllocations.
func (s *Store) AllocatedIPs(ctx context.Context, pool string) ([]netip.Addr, error) {
	r := s.Allocations
	if r == nil {
		r = s.r
	}
	var l railnetv1alpha1.IPAllocationList
	if err := r.List(ctx, &l, client.MatchingLabels{railnetv1alpha1.LabelPool: pool}); err != nil {
		return nil, fmt.Errorf("list IPAllocations of pool %s: %w", pool, err)
	}
	var out []netip.Addr
	for _, a := range l.Items {
		if ip, err := netip.ParseAddr(a.Spec.IP); err == nil {
			out = append(out, ip)
		}
	}
	return out, nil
}
