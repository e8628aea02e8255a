package bench

import (
	"context"
	"iter"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/state"
	"github.com/railnet/railnet/extender/state/statetest"
)

// counts are how many objects of each kind a cached cluster holds.
type counts struct{ nodes, rdmaNodes, pods, allocs int }

// cachedCluster is the benchmarks' cluster of n GPU nodes as the
// extender holds it: the extender's own store (state.CacheStore) over a
// controller-runtime cache built with the extender's options (its
// transforms and indexes), whose informers are real client-go informers
// that list the cluster's objects from memory instead of from an API
// server, and whose watches stay silent. Once the store has synced, the
// fixture's objects are dropped: what stays is what the extender's
// process would hold. Its informers run until the benchmark ends.
func cachedCluster(tb testing.TB, n int) (*state.CacheStore, []string, *corev1.Pod, counts) {
	c, names := statetest.GPUCluster(n)
	lists := map[string]runtime.Object{}
	nodes := corev1.NodeList{Items: copies(maps.Values(c.Nodes), (*corev1.Node).DeepCopy)}
	rdmaNodes := railnetv1.RDMANodeList{Items: copies(maps.Values(c.RDMANodes), (*railnetv1.RDMANode).DeepCopy)}
	pods := corev1.PodList{Items: copies(slices.Values(c.Pods), (*corev1.Pod).DeepCopy)}
	allocs := railnetv1.IPAllocationList{Items: copies(slices.Values(c.Allocs), (*railnetv1.IPAllocation).DeepCopy)}
	pools := spiderv2beta1.SpiderIPPoolList{Items: copies(maps.Values(c.Pools), (*spiderv2beta1.SpiderIPPool).DeepCopy)}
	smcs := spiderv2beta1.SpiderMultusConfigList{Items: copies(slices.Values(c.SMCs), (*spiderv2beta1.SpiderMultusConfig).DeepCopy)}
	n2 := counts{nodes: len(nodes.Items), rdmaNodes: len(rdmaNodes.Items), pods: len(pods.Items), allocs: len(allocs.Items)}
	for _, l := range []runtime.Object{&nodes, &rdmaNodes, &pods, &allocs, &pools, &smcs, &corev1.NamespaceList{}} {
		l.(metav1.ListInterface).SetResourceVersion("1")
		lists[typeName(tb, l)] = l
	}
	pod := c.NewPod("job-0-new", map[string]string{"railnet.io/job": "job-0"})
	c = nil // the lists hold deep copies, as decoded objects share nothing

	log.SetLogger(logr.Discard()) // the cache's informers log to nowhere, not to a warning
	s := scheme.New()
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, o := range state.Watched() {
		gvk, err := apiutil.GVKForObject(o, s)
		if err != nil {
			tb.Fatal(err)
		}
		scope := meta.RESTScopeRoot
		if gvk.Kind == "Pod" || gvk.Kind == "SpiderMultusConfig" {
			scope = meta.RESTScopeNamespace
		}
		mapper.Add(gvk, scope)
	}
	var mu sync.Mutex
	opts := state.CacheOptions(cache.Options{Scheme: s, Mapper: mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
			list := typeName(tb, obj) + "List"
			return toolscache.NewSharedIndexInformer(listWatch{&toolscache.ListWatch{
				ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
					mu.Lock()
					defer mu.Unlock()
					l, ok := lists[list]
					if !ok {
						tb.Errorf("no list of %s", list)
						return nil, context.Canceled
					}
					delete(lists, list) // the informer keeps what it keeps of it
					return l, nil
				},
				WatchFuncWithContext: func(context.Context, metav1.ListOptions) (apiwatch.Interface, error) {
					return apiwatch.NewFake(), nil
				},
			}}, obj, resync, idx)
		}}, types.NamespacedName{})
	cc, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := state.NewCacheStore(ctx, cc, types.NamespacedName{})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := cc.Start(ctx); err != nil {
			tb.Error(err)
		}
	}()
	// The next run's memory figures must not count this run's cluster.
	tb.Cleanup(func() {
		cancel()
		<-stopped
	})
	syncCtx, stop := context.WithTimeout(ctx, 5*time.Minute)
	defer stop()
	if !cc.WaitForCacheSync(syncCtx) || !toolscache.WaitForCacheSync(syncCtx.Done(), store.Synced) {
		tb.Fatal("the cached cluster did not sync")
	}
	return store, names, pod, n2
}

// copies are deep copies of objs, as a list's items: decoded objects share
// nothing with the fixture's.
func copies[T any](objs iter.Seq[*T], deepCopy func(*T) *T) []T {
	var out []T
	for o := range objs {
		out = append(out, *deepCopy(o))
	}
	return out
}

// typeName is the Go type's name of obj (Node, NodeList, ...).
func typeName(tb testing.TB, obj runtime.Object) string {
	gvks, _, err := scheme.New().ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		tb.Fatalf("kind of %T: %v", obj, err)
	}
	return gvks[0].Kind
}

// listWatch lists and watches without the streaming list an API server
// offers.
type listWatch struct{ *toolscache.ListWatch }

func (listWatch) IsWatchListSemanticsUnSupported() bool { return true }
