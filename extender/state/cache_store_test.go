package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/test/poll"
)

// The store reads pods from the Pod informer's own indexer, keyed as
// informers key them (namespace/name).
func TestCacheStorePods(t *testing.T) {
	idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})
	s := &CacheStore{pods: idx}
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "w1", UID: "u1"}, Spec: corev1.PodSpec{NodeName: "n2"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "w1", UID: "u2"}, Spec: corev1.PodSpec{NodeName: "n3"}},
	} {
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if p := s.Pod(PodKey("train", "w1")); p == nil || p.Spec.NodeName != "n2" {
		t.Fatalf("Pod train/w1: %v", p)
	}
	if p := s.Pod(PodKey("train", "nope")); p != nil {
		t.Fatalf("Pod train/nope: %v", p)
	}
}

// listWatch lists and watches without the streaming list an apiserver
// offers.
type listWatch struct{ *toolscache.ListWatch }

func (listWatch) IsWatchListSemanticsUnSupported() bool { return true }

// startInformer runs inf until the test ends and waits until synced
// reports its first list in.
func startInformer(t *testing.T, inf toolscache.SharedIndexInformer, synced func() bool, what string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go inf.RunWithContext(ctx)
	poll.Until(t, time.Minute, what, func() error {
		if !synced() {
			return fmt.Errorf("not synced; informer synced %t", inf.HasSynced())
		}
		return nil
	})
}

// fakeInformer is a real informer of objects of obj's kind whose first list
// is list and whose watch is the returned fake.
func fakeInformer(list, obj runtime.Object) (toolscache.SharedIndexInformer, *apiwatch.FakeWatcher) {
	w := apiwatch.NewFake()
	return toolscache.NewSharedIndexInformer(listWatch{&toolscache.ListWatch{
		ListWithContextFunc:  func(context.Context, metav1.ListOptions) (runtime.Object, error) { return list, nil },
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (apiwatch.Interface, error) { return w, nil },
	}}, obj, 0, toolscache.Indexers{}), w
}

// Nodes fed from another informer (the scheduler's) reach the facts as
// they come, change and go, and synced turns true once the informer's
// first list is in.
func TestWatchNodesFromAnotherInformer(t *testing.T) {
	inf, w := fakeInformer(&corev1.NodeList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Node{*factsNode("n1", "1")}}, &corev1.Node{})
	facts := NewFacts()
	synced, err := watchNodes(inf, facts)
	if err != nil {
		t.Fatal(err)
	}
	if synced() {
		t.Fatal("synced before the informer started")
	}
	startInformer(t, inf, synced, "the first list in the facts")
	if nf := facts.Get("n1"); nf == nil || nf.Node.ResourceVersion != "1" {
		t.Fatalf("n1 after the first list: %+v", nf)
	}
	w.Add(factsNode("n2", "2"))
	w.Modify(factsNode("n1", "3"))
	w.Delete(factsNode("n2", "4"))
	w.Add(factsNode("n3", "5"))
	poll.Until(t, time.Minute, "n3 in the facts", func() error {
		if facts.Get("n3") == nil {
			return errors.New("n3 not in")
		}
		return nil
	})
	if nf := facts.Get("n1"); nf == nil || nf.Node.ResourceVersion != "3" || facts.Get("n2") != nil || facts.Len() != 2 {
		t.Fatalf("after the events: n1 %+v, n2 %v, %d nodes", nf, facts.Get("n2"), facts.Len())
	}
}

// Pods fed from another informer (the scheduler's) are read from its
// store, and counted in the slots and their jobs' nodes as they come, are
// bound and go; synced turns true once the
// informer's first list is in.
func TestWatchPodsFromAnotherInformer(t *testing.T) {
	const share = corev1.ResourceName("spidernet.io/shared_cx5_gpu1")
	pod := func(name, node, rv string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: name, UID: types.UID(name), ResourceVersion: rv,
			Labels: map[string]string{"railnet.io/job": "llama"}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{share: resource.MustParse("1")}, Limits: corev1.ResourceList{share: resource.MustParse("1")}}}}}}
	}
	inf, w := fakeInformer(&corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Pod{*pod("w0", "n1", "1")}}, &corev1.Pod{})
	s := &CacheStore{slots: NewSlots(), jobs: NewJobs()}
	synced, err := s.watchPods(inf)
	if err != nil {
		t.Fatal(err)
	}
	if synced() {
		t.Fatal("synced before the informer started")
	}
	startInformer(t, inf, synced, "the first list in the slots")
	used := func(node string) int64 {
		for _, a := range s.slots.InUse(node) {
			if a.Resource == share {
				return a.Value
			}
		}
		return 0
	}
	const job = "train/railnet.io/job=llama"
	if p := s.Pod(PodKey("train", "w0")); p == nil || used("n1") != 1 || !slices.Equal(s.JobNodes(job, "", nil), []string{"n1"}) {
		t.Fatalf("after the first list: pod %v, n1 uses %d, job on %v", p, used("n1"), s.JobNodes(job, "", nil))
	}
	w.Add(pod("w1", "", "2"))
	w.Modify(pod("w1", "n2", "3")) // bound
	w.Delete(pod("w0", "n1", "4")) // ended: kube-scheduler's informer sees it leave
	w.Add(pod("w2", "n2", "5"))
	poll.Until(t, time.Minute, "w2 in the slots", func() error {
		if used("n2") != 2 {
			return fmt.Errorf("n2 uses %d", used("n2"))
		}
		return nil
	})
	if onJob := s.JobNodes(job, "", nil); used("n1") != 0 || s.Pod(PodKey("train", "w0")) != nil || !slices.Equal(onJob, []string{"n2"}) {
		t.Fatalf("after the events: n1 uses %d, w0 %v, job on %v", used("n1"), s.Pod(PodKey("train", "w0")), onJob)
	}
}

// The cache builds informers of kinds without namespaces without the
// namespace index it gives every informer; the others keep it, and the
// caller's own NewInformer still builds them.
func TestCacheOptionsNamespaceIndex(t *testing.T) {
	built := 0
	o := CacheOptions(cache.Options{NewInformer: func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
		built++
		return toolscache.NewSharedIndexInformer(lw, obj, resync, idx)
	}}, types.NamespacedName{})
	idx := toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc}
	for _, c := range []struct {
		obj  runtime.Object
		want bool
	}{{&railnetv1.IPAllocation{}, false}, {&corev1.Node{}, false}, {&railnetv1.RDMANode{}, false}, {&corev1.Pod{}, true},
		{&spiderv2beta1.SpiderMultusConfig{}, true}} {
		inf := o.NewInformer(&toolscache.ListWatch{}, c.obj, 0, idx)
		if _, has := inf.GetIndexer().GetIndexers()[toolscache.NamespaceIndex]; has != c.want {
			t.Errorf("%T: namespace index %t, want %t", c.obj, has, c.want)
		}
	}
	if built != 5 || len(idx) != 1 {
		t.Fatalf("built %d informers with the caller's NewInformer; the caller's indexers now %v", built, idx)
	}
}
