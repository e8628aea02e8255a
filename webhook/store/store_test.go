package store

import (
	"context"
	"errors"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
)

// informerCache reads from a fake client and reports events from fake
// informers, as the manager's cache does from the apiserver.
type informerCache struct {
	client.Reader
	*informertest.FakeInformers
}

func (c informerCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c informerCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.Reader.List(ctx, list, opts...)
}

func smc(name string) *spiderv2beta1.SpiderMultusConfig {
	return &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: name}}
}

// TestMultusConfigsKeptUntilChange lists SpiderMultusConfigs once and
// answers from that list until the informer reports an add, update or
// delete; a reader without informers lists every time.
func TestMultusConfigsKeptUntilChange(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(smc("gpu1")).Build()
	informers := &informertest.FakeInformers{Scheme: scheme.New()}
	s := New(informerCache{Reader: c, FakeInformers: informers}, client.ObjectKey{})
	names := func() []string {
		t.Helper()
		l, err := s.MultusConfigs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range l {
			out = append(out, x.Name)
		}
		return out
	}
	if got := names(); len(got) != 1 {
		t.Fatalf("first list = %v", got)
	}
	inf, err := informers.FakeInformerFor(ctx, &spiderv2beta1.SpiderMultusConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, smc("gpu2")); err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 1 {
		t.Errorf("no event yet: list = %v, want the kept one", got)
	}
	inf.Add(smc("gpu2"))
	if got := names(); len(got) != 2 {
		t.Errorf("after an add event: list = %v, want 2", got)
	}
	if err := c.Delete(ctx, smc("gpu1")); err != nil {
		t.Fatal(err)
	}
	inf.Delete(smc("gpu1"))
	if got := names(); len(got) != 1 || got[0] != "gpu2" {
		t.Errorf("after a delete event: list = %v, want [gpu2]", got)
	}

	plain := New(c, client.ObjectKey{})
	if err := c.Create(ctx, smc("gpu3")); err != nil {
		t.Fatal(err)
	}
	if l, err := plain.MultusConfigs(ctx); err != nil || len(l) != 2 {
		t.Errorf("reader without informers: %d configs, %v; want 2", len(l), err)
	}
}

func TestClaimTemplateExists(t *testing.T) {
	ctx := context.Background()
	tpl := &resourceapi.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "railnet-rdma-dra-2"}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(tpl).Build()
	off := New(c, client.ObjectKey{Namespace: "railnet", Name: "railnet-config"})
	if _, err := off.ClaimTemplateExists(ctx, "train", tpl.Name); !errors.Is(err, drainject.ErrDisabled) {
		t.Errorf("without DRA mode: %v, want ErrDisabled", err)
	}
	on := New(c, client.ObjectKey{Namespace: "railnet", Name: "railnet-config"})
	on.ClaimTemplates = c
	for _, tt := range []struct {
		ns, name string
		want     bool
	}{{"train", tpl.Name, true}, {"train", "railnet-rdma-dra-3", false}, {"other", tpl.Name, false}} {
		if got, err := on.ClaimTemplateExists(ctx, tt.ns, tt.name); err != nil || got != tt.want {
			t.Errorf("%s/%s: %v, %v; want %v", tt.ns, tt.name, got, err, tt.want)
		}
	}
}
