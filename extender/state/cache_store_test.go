package state

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

// The store reads pods from the Pod informer's own indexer, keyed as
// informers key them (namespace/name), and finds a job's bound pods by its
// index.
func TestCacheStorePods(t *testing.T) {
	idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexPodJob: podJob})
	s := &CacheStore{pods: idx}
	pod := func(ns, name, node, job string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name)}, Spec: corev1.PodSpec{NodeName: node}}
		if job != "" {
			p.Labels = map[string]string{"railnet.io/job": job}
		}
		return p
	}
	names := func(ps []*corev1.Pod) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, p := range []*corev1.Pod{
		pod("train", "w0", "n1", "llama"), pod("train", "w1", "n2", "llama"), pod("train", "w2", "", "llama"),
		pod("other", "w0", "n3", "llama"), pod("train", "solo", "n1", ""),
	} {
		if err := idx.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if p := s.Pod("train", "w1"); p == nil || p.Spec.NodeName != "n2" {
		t.Fatalf("Pod train/w1: %v", p)
	}
	if p := s.Pod("train", "nope"); p != nil {
		t.Fatalf("Pod train/nope: %v", p)
	}
	if got, want := names(s.PodsOfJob("train/railnet.io/job=llama")), []string{"train/w0", "train/w1"}; !slices.Equal(got, want) {
		t.Fatalf("job llama in train: %v, want the bound %v (not the pending w2, not other/w0)", got, want)
	}
	if err := idx.Update(pod("train", "w2", "n3", "llama")); err != nil {
		t.Fatal(err)
	}
	if err := idx.Delete(pod("train", "w0", "n1", "llama")); err != nil {
		t.Fatal(err)
	}
	if got, want := names(s.PodsOfJob("train/railnet.io/job=llama")), []string{"train/w1", "train/w2"}; !slices.Equal(got, want) {
		t.Fatalf("after w2 bound and w0 gone: %v, want %v", got, want)
	}
}
