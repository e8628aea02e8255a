package state

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/injectgroup"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
)

// Field indexes the store looks objects up by.
const (
	indexSMCGroup = "railnet.extender/smc-group"
)

// CacheStore is a Store over a controller-runtime cache. Reads never reach
// the API server: the cache is built with ReaderFailOnMissingInformer, and
// NewCacheStore starts every informer it reads before returning.
type CacheStore struct {
	c cache.Cache

	genMu sync.Mutex
	gens  map[string]uint64 // by pool name
	slots *Slots
	jobs  *Jobs
	facts *Facts
	// pods is the Pod informer's own store, read without the copy and
	// type lookup a cache Get or List makes.
	pods toolscache.Indexer
	// allocs is what the IPAllocation informer holds (allocations,
	// compactAllocation) by pool, kept from its events.
	allocs allocBook
	// synced report whether each event handler the store registered
	// (facts, slots, jobs, namespaces, pool generations) has been handed
	// every object of its informer's first list: an informer's sync does
	// not wait for its handlers.
	synced []func() bool
	// followers are told of every pod change after the slots (FollowPods);
	// copy on write.
	followersMu sync.Mutex
	followers   atomic.Pointer[[]PodFollower]
	*injectView
}

// Informer is what the store uses of an informer: a client-go
// SharedInformer or a controller-runtime cache.Informer.
type Informer interface {
	AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error)
}

// StoreOption changes how NewCacheStore builds the store.
type StoreOption func(*storeOptions)

type storeOptions struct {
	nodes Informer
	pods  PodInformer
}

// PodInformer is what the store uses of a Pod informer: client-go's
// SharedIndexInformer.
type PodInformer interface {
	Informer
	GetIndexer() toolscache.Indexer
}

// NodesFrom feeds the store's Nodes from src, a Node informer that need
// not be started yet, instead of from its cache: a scheduler plugin passes
// the scheduler's own, so the cluster's Nodes are decoded and kept once
// and a node's facts hold the Node object the scheduler's snapshot holds.
// Synced then says when the facts hold src's first list.
func NodesFrom(src Informer) StoreOption {
	return func(o *storeOptions) { o.nodes = src }
}

// PodsFrom reads the store's Pods from src, a Pod informer that need not
// be started yet, instead of from its cache: a scheduler plugin passes the
// scheduler's own, so every Pod of the cluster is watched, decoded and
// kept once. The pods are src's as they come (not slimmed). kube-scheduler's
// informer leaves out pods that have succeeded or failed, which the store
// counts nowhere anyway (a pod that ends leaves the informer as deleted).
// Synced then also says when the slots hold src's first list.
func PodsFrom(src PodInformer) StoreOption {
	return func(o *storeOptions) { o.pods = src }
}

// Watched lists the kinds the extender caches.
func Watched() []client.Object {
	return []client.Object{
		&corev1.Node{}, &corev1.Pod{},
		&railnetv1.RDMANode{}, &railnetv1.IPAllocation{},
		&spiderv2beta1.SpiderIPPool{}, &spiderv2beta1.SpiderMultusConfig{},
		&corev1.Namespace{},
	}
}

// CacheOptions are the cache options the store expects: shared, never
// deep-copied objects without managed fields (Nodes, Pods, IPAllocations
// and Namespaces only with what the extender reads: slim.go, inject.go),
// no lazily started informers, no namespace index for kinds without
// namespaces (informers are built by o.NewInformer when set), and of
// ConfigMaps only injectConfig, the webhook's (none when its name is
// empty).
func CacheOptions(o cache.Options, injectConfig types.NamespacedName) cache.Options {
	yes := true
	o.DefaultUnsafeDisableDeepCopy = &yes
	o.DefaultTransform = cache.TransformStripManagedFields()
	if o.ByObject == nil {
		o.ByObject = map[client.Object]cache.ByObject{}
	}
	o.ByObject[&corev1.Node{}] = cache.ByObject{Transform: slimNode}
	o.ByObject[&corev1.Pod{}] = cache.ByObject{Transform: slimPod}
	o.ByObject[&railnetv1.IPAllocation{}] = cache.ByObject{Transform: compactAllocation}
	o.ByObject[&corev1.Namespace{}] = cache.ByObject{Transform: slimNamespace}
	if injectConfig.Name != "" {
		o.ByObject[&corev1.ConfigMap{}] = cache.ByObject{
			Namespaces: map[string]cache.Config{injectConfig.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", injectConfig.Name),
		}
	}
	o.ReaderFailOnMissingInformer = true
	newInformer := o.NewInformer
	if newInformer == nil {
		newInformer = toolscache.NewSharedIndexInformer
	}
	o.NewInformer = func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
		if clusterScoped(obj) {
			idx = maps.Clone(idx)
			delete(idx, toolscache.NamespaceIndex)
		}
		return newInformer(lw, obj, resync, idx)
	}
	return o
}

// clusterScoped reports whether obj is of a kind without namespaces among
// those the store watches: their informers need no namespace index (the
// cache gives every informer one; of 160,000 IPAllocations it would hold
// every name once more).
func clusterScoped(obj runtime.Object) bool {
	switch obj.(type) {
	case *corev1.Node, *corev1.Namespace, *railnetv1.RDMANode, *railnetv1.IPAllocation, *spiderv2beta1.SpiderIPPool:
		return true
	}
	return false
}

// NewCacheStore registers the indexes and starts the informers on c (which
// must not be started yet is fine either way), c built with CacheOptions and
// the same injectConfig: the webhook's ConfigMap, whose podResourceInject
// section the store reads live (empty name: unknown, every inject group is
// acted on). Call c.Start and c.WaitForCacheSync before serving.
func NewCacheStore(ctx context.Context, c cache.Cache, injectConfig types.NamespacedName, opts ...StoreOption) (*CacheStore, error) {
	idx := []struct {
		obj     client.Object
		field   string
		extract client.IndexerFunc
	}{
		{&spiderv2beta1.SpiderMultusConfig{}, indexSMCGroup, func(o client.Object) []string {
			var keys []string
			for _, k := range injectgroup.Keys {
				for _, g := range injectgroup.SplitGroups(o.GetAnnotations()[k]) {
					keys = append(keys, k+"="+g)
				}
			}
			return keys
		}},
	}
	for _, i := range idx {
		if err := c.IndexField(ctx, i.obj, i.field, i.extract); err != nil {
			return nil, fmt.Errorf("index %s: %w", i.field, err)
		}
	}
	s := &CacheStore{c: c, gens: map[string]uint64{}, slots: NewSlots(), jobs: NewJobs(), facts: NewFacts(), injectView: newInjectView(injectConfig)}
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	watched := Watched()
	if o.nodes != nil {
		watched = slices.DeleteFunc(watched, func(obj client.Object) bool { _, isNode := obj.(*corev1.Node); return isNode })
		synced, err := watchNodes(o.nodes, s.facts)
		if err != nil {
			return nil, err
		}
		s.synced = append(s.synced, synced)
	}
	if o.pods != nil {
		watched = slices.DeleteFunc(watched, func(obj client.Object) bool { _, isPod := obj.(*corev1.Pod); return isPod })
		synced, err := s.watchPods(o.pods)
		if err != nil {
			return nil, err
		}
		s.synced = append(s.synced, synced)
	}
	if injectConfig.Name != "" {
		watched = append(watched, &corev1.ConfigMap{})
	}
	for _, o := range watched {
		inf, err := c.GetInformer(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("informer for %T: %w", o, err)
		}
		var synced func() bool
		var reg toolscache.ResourceEventHandlerRegistration
		switch o.(type) {
		case *corev1.Node:
			synced, err = watchNodes(inf, s.facts)
		case *railnetv1.RDMANode:
			reg, err = watch(inf, s.facts.SetRDMANode, func(rn *railnetv1.RDMANode) { s.facts.DeleteRDMANode(rn.Name) })
		case *corev1.Pod:
			sii, ok := inf.(toolscache.SharedIndexInformer)
			if !ok {
				return nil, fmt.Errorf("pod informer is %T, want a client-go SharedIndexInformer", inf)
			}
			synced, err = s.watchPods(sii)
		case *corev1.Namespace:
			reg, err = watch(inf, s.setNamespace, s.deleteNamespace)
		case *corev1.ConfigMap:
			reg, err = watch(inf, s.setConfigMap, s.deleteConfigMap)
		case *spiderv2beta1.SpiderIPPool:
			reg, err = s.bumpPools(inf, func(obj any) string {
				if p, ok := obj.(*spiderv2beta1.SpiderIPPool); ok {
					return p.Name
				}
				return ""
			}, nil)
		case *railnetv1.IPAllocation:
			synced, err = s.watchAllocations(inf)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("watch %T: %w", o, err)
		}
		if reg != nil {
			synced = reg.HasSynced
		}
		s.synced = append(s.synced, synced)
	}
	return s, nil
}

// watchAllocations keeps the book of the pools' allocations from src's
// events (its store holds allocations: the cache's transform,
// compactAllocation) and bumps their pools' generations; synced reports
// when both have seen src's first list.
func (s *CacheStore) watchAllocations(src Informer) (synced func() bool, err error) {
	reg, err := s.bumpPools(src, func(obj any) string {
		if a, ok := obj.(*allocation); ok {
			return a.pool.Value()
		}
		return ""
	}, s.allocs.change)
	if err != nil {
		return nil, err
	}
	return reg.HasSynced, nil
}

// bumpPools bumps the generation of the pool poolOf names ("": none) for
// every object src adds, deletes or changes (the old object's pool and the
// new one's), after telling change (when not nil) of the old object (nil
// when added) and the new one (nil when deleted). client-go updates the
// informer's store before it calls handlers, so a reader that sees the new
// generation also sees the change, in the informer and in what change
// keeps.
func (s *CacheStore) bumpPools(src Informer, poolOf func(any) string, change func(old, obj any)) (toolscache.ResourceEventHandlerRegistration, error) {
	if change == nil {
		change = func(any, any) {}
	}
	bump := func(obj any) {
		if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if name := poolOf(obj); name != "" {
			s.genMu.Lock()
			s.gens[name]++
			s.genMu.Unlock()
		}
	}
	return src.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { change(nil, obj); bump(obj) },
		UpdateFunc: func(old, obj any) { change(old, obj); bump(old); bump(obj) },
		DeleteFunc: func(obj any) { change(obj, nil); bump(obj) },
	})
}

// PoolGeneration implements Store.
func (s *CacheStore) PoolGeneration(pool string) uint64 {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	return s.gens[pool]
}

func (s *CacheStore) get(key types.NamespacedName, obj client.Object) bool {
	err := s.c.Get(context.Background(), key, obj)
	if err == nil {
		return true
	}
	if !isNotFound(err) {
		klog.Background().Error(err, "read cache", "kind", fmt.Sprintf("%T", obj), "key", key)
	}
	return false
}

func (s *CacheStore) list(list client.ObjectList, opts ...client.ListOption) {
	opts = append(opts, client.UnsafeDisableDeepCopy)
	if err := s.c.List(context.Background(), list, opts...); err != nil {
		klog.Background().Error(err, "list cache", "kind", fmt.Sprintf("%T", list))
	}
}

// FillNodes implements Store.
func (s *CacheStore) FillNodes(out []placement.NodeState) {
	s.facts.Fill(out)
	s.slots.Fill(out)
}

// SlotsSince implements SlotsFollower (Slots.Since).
func (s *CacheStore) SlotsSince(gen uint64, changed func(node string, use placement.Amounts)) (uint64, bool) {
	return s.slots.Since(gen, changed)
}

// NodeFacts implements Store; it takes no lock (Facts.Get).
func (s *CacheStore) NodeFacts(name string) *placement.NodeFacts { return s.facts.Get(name) }

// NodeRef implements Store; it takes no lock (Facts.Ref).
func (s *CacheStore) NodeRef(name string) *placement.NodeRef { return s.facts.Ref(name) }

// Synced reports whether the store's books (node facts, slots, jobs'
// nodes, namespaces, pool generations) hold every object of their
// informers' first lists, the cache's and its sources' outside the cache
// (NodesFrom, PodsFrom) alike. The cache's sync does not say so: an
// informer syncs when its store holds its first list, before its event
// handlers have seen all of it.
func (s *CacheStore) Synced() bool {
	for _, synced := range s.synced {
		if !synced() {
			return false
		}
	}
	return true
}

// watchNodes keeps facts' Nodes from src; synced reports when facts hold
// src's first list.
func watchNodes(src Informer, facts *Facts) (synced func() bool, err error) {
	reg, err := watch(src, facts.SetNode, func(n *corev1.Node) { facts.DeleteNode(n.Name) })
	if err != nil {
		return nil, fmt.Errorf("watch nodes: %w", err)
	}
	return reg.HasSynced, nil
}

// watchPods reads src's pods from its store and keeps the slots and the
// jobs' nodes from its events; synced reports when they hold src's first
// list.
func (s *CacheStore) watchPods(src PodInformer) (synced func() bool, err error) {
	s.pods = src.GetIndexer()
	reg, err := watch(src, func(p *corev1.Pod) {
		s.slots.Set(p)
		s.jobs.Set(p)
		for _, f := range s.podFollowers() {
			f.PodChanged(p)
		}
	}, func(p *corev1.Pod) {
		s.slots.Delete(p.UID)
		s.jobs.Delete(p.UID)
		for _, f := range s.podFollowers() {
			f.PodDeleted(p)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return reg.HasSynced, nil
}

// FollowPods implements PodEvents: f is told of every change of the
// store's pods from now on, after Pod shows it and the slots count it.
func (s *CacheStore) FollowPods(f PodFollower) {
	s.followersMu.Lock()
	defer s.followersMu.Unlock()
	var next []PodFollower
	if cur := s.followers.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, f)
	s.followers.Store(&next)
}

func (s *CacheStore) podFollowers() []PodFollower {
	if cur := s.followers.Load(); cur != nil {
		return *cur
	}
	return nil
}

// NodeCount counts the Nodes in the cache.
func (s *CacheStore) NodeCount() int { return s.facts.Len() }

// Pod implements Store; the pod is the informer's.
func (s *CacheStore) Pod(key string) *corev1.Pod {
	obj, ok, err := s.pods.GetByKey(key)
	if err != nil || !ok {
		return nil
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

// JobNodes implements Store.
func (s *CacheStore) JobNodes(job string, except types.UID, out []string) []string {
	return s.jobs.Nodes(job, except, out)
}

// Pool implements Store.
func (s *CacheStore) Pool(name string) *spiderv2beta1.SpiderIPPool {
	p := &spiderv2beta1.SpiderIPPool{}
	if s.get(types.NamespacedName{Name: name}, p) {
		return p
	}
	return nil
}

// PoolAllocations implements Store, from the book kept from the
// IPAllocation informer's events (a cache List cannot read the informer:
// it holds allocations, not IPAllocations).
func (s *CacheStore) PoolAllocations(pool *spiderv2beta1.SpiderIPPool, usable func(netip.Addr) bool) (int64, map[unique.Handle[string]]int32) {
	var version string // Pool hands out copies: the pool's version, not the object, says its spec is the same
	if pool.ResourceVersion != "" {
		version = string(pool.UID) + "/" + pool.ResourceVersion
	}
	return s.allocs.read(pool.Name, version, usable)
}

// MultusConfig implements rails.Configs.
func (s *CacheStore) MultusConfig(namespace, name string) *spiderv2beta1.SpiderMultusConfig {
	c := &spiderv2beta1.SpiderMultusConfig{}
	if s.get(types.NamespacedName{Namespace: namespace, Name: name}, c) {
		return c
	}
	return nil
}

// MultusConfigsInGroup implements rails.Configs, in namespace/name order
// (the index answers in no particular order; refusals list configs in the
// order they come).
func (s *CacheStore) MultusConfigsInGroup(key, group string) []*spiderv2beta1.SpiderMultusConfig {
	var l spiderv2beta1.SpiderMultusConfigList
	s.list(&l, client.MatchingFields{indexSMCGroup: key + "=" + group})
	out := ptrs(l.Items)
	slices.SortFunc(out, func(a, b *spiderv2beta1.SpiderMultusConfig) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// watch calls set with every added or updated T and del with every deleted
// one (also when the informer only saw its final state).
func watch[T any](inf Informer, set, del func(T)) (toolscache.ResourceEventHandlerRegistration, error) {
	return inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if o, ok := obj.(T); ok {
				set(o)
			}
		},
		UpdateFunc: func(_, obj any) {
			if o, ok := obj.(T); ok {
				set(o)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if o, ok := obj.(T); ok {
				del(o)
			}
		},
	})
}
