package store

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/injectgroup"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
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
	// ClaimTemplates reads ResourceClaimTemplates (DRA mode); nil when the
	// service runs without DRA mode.
	ClaimTemplates client.Reader

	mu       sync.Mutex
	parsedRV string // resourceVersion of the ConfigMap behind parsed
	parsed   inject.Config

	// The SpiderMultusConfig list is kept between requests while the
	// informer reports no change (every injected pod reads it; they change
	// rarely). configsGen counts the informer's events.
	configsGen   atomic.Uint64
	configsMu    sync.Mutex
	watching     bool
	configs      []*spiderv2beta1.SpiderMultusConfig
	configsBuilt uint64 // configsGen when configs was listed
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
	cfg, err := injectgroup.ParseConfig(cm.Data)
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

// MultusConfigs lists every SpiderMultusConfig. When r is an informer
// cache the list is listed again only after the informer reported a change
// (the slice is shared: callers must not modify it or its items).
func (s *Store) MultusConfigs(ctx context.Context) ([]*spiderv2beta1.SpiderMultusConfig, error) {
	if !s.watchConfigs(ctx) {
		return s.listConfigs(ctx)
	}
	gen := s.configsGen.Load() // before listing: a change during the list makes the next call list again
	s.configsMu.Lock()
	if s.configs != nil && s.configsBuilt == gen {
		out := s.configs
		s.configsMu.Unlock()
		return out, nil
	}
	s.configsMu.Unlock()
	out, err := s.listConfigs(ctx)
	if err != nil {
		return nil, err
	}
	s.configsMu.Lock()
	s.configs, s.configsBuilt = out, gen
	s.configsMu.Unlock()
	return out, nil
}

// watchConfigs counts the SpiderMultusConfig informer's events into
// configsGen once r is an informer cache; false when it is not (or the
// informer is not available yet).
func (s *Store) watchConfigs(ctx context.Context) bool {
	s.configsMu.Lock()
	defer s.configsMu.Unlock()
	if s.watching {
		return true
	}
	informers, ok := s.r.(cache.Informers)
	if !ok {
		return false
	}
	inf, err := informers.GetInformer(ctx, &spiderv2beta1.SpiderMultusConfig{}, cache.BlockUntilSynced(false))
	if err != nil {
		return false
	}
	bump := func() { s.configsGen.Add(1) }
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { bump() },
		UpdateFunc: func(any, any) { bump() },
		DeleteFunc: func(any) { bump() },
	}); err != nil {
		return false
	}
	s.watching = true
	return true
}

func (s *Store) listConfigs(ctx context.Context) ([]*spiderv2beta1.SpiderMultusConfig, error) {
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
	var l railnetv1.IPAllocationList
	if err := r.List(ctx, &l, client.MatchingLabels{railnetv1.LabelPool: pool}); err != nil {
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

// ClaimTemplateExists reports whether the ResourceClaimTemplate
// namespace/name exists. Without ClaimTemplates (the service runs without
// DRA mode) it answers drainject.ErrDisabled.
func (s *Store) ClaimTemplateExists(ctx context.Context, namespace, name string) (bool, error) {
	if s.ClaimTemplates == nil {
		return false, drainject.ErrDisabled
	}
	var t resourceapi.ResourceClaimTemplate
	err := s.ClaimTemplates.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &t, client.UnsafeDisableDeepCopy)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get ResourceClaimTemplate %s/%s: %w", namespace, name, err)
	}
	return true, nil
}
