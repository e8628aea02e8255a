package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/railnet/railnet/api/cniconf"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestMemoValid(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name        string
		listed, now time.Time
		want        bool
	}{
		{name: "never listed", now: at},
		{name: "just listed", listed: at, now: at, want: true},
		{name: "within the memo's time", listed: at, now: at.Add(memoFor - time.Millisecond), want: true},
		{name: "at its end", listed: at, now: at.Add(memoFor)},
		{name: "long after", listed: at, now: at.Add(time.Hour)},
		{name: "the clock went back", listed: at, now: at.Add(-time.Second)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := memoValid(tt.listed, tt.now); got != tt.want {
				t.Fatalf("memoValid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEffectOf(t *testing.T) {
	gr := schema.GroupResource{Group: railnetv1.GroupVersion.Group, Resource: "ipallocations"}
	exists := apierrors.NewAlreadyExists(gr, "10-0-0-1")
	notFound := apierrors.NewNotFound(gr, "10-0-0-1")
	conflict := apierrors.NewConflict(gr, "10-0-0-1", errors.New("the object has been modified"))
	timeout := apierrors.NewTimeoutError("request did not complete", 1)
	for _, tt := range []struct {
		name     string
		err      error
		deleting bool
		want     writeEffect
	}{
		{name: "created or updated", want: written},
		{name: "deleted", deleting: true, want: written},
		{name: "address already recorded", err: exists, want: refused},
		{name: "already gone on delete", err: notFound, deleting: true, want: written},
		{name: "gone on update: the memo was stale", err: notFound, want: unknown},
		{name: "conflict on update: the memo was stale", err: conflict, want: unknown},
		{name: "server timeout: may have happened", err: timeout, want: unknown},
		{name: "timeout on delete", err: timeout, deleting: true, want: unknown},
		{name: "lost connection", err: context.DeadlineExceeded, want: unknown},
		{name: "wrapped AlreadyExists", err: fmt.Errorf("create: %w", exists), want: refused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := effectOf(tt.err, tt.deleting); got != tt.want {
				t.Fatalf("effectOf = %v, want %v", got, tt.want)
			}
		})
	}
}

// The memo follows the allocator's own writes, and forgets everything when
// a write's outcome is unknown.
func TestPodEntryWrote(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec := func(name, ifName, container string) railnetv1.IPAllocation {
		return railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: railnetv1.IPAllocationSpec{Interface: ifName, ContainerID: container}}
	}
	gr := schema.GroupResource{Resource: "ipallocations"}
	// render lists the memo as "name/interface/container", or "unknown".
	render := func(e *podEntry) []string {
		all, ok := e.known(at)
		if !ok {
			return []string{"unknown"}
		}
		out := []string{}
		for _, a := range all {
			out = append(out, a.Name+"/"+a.Spec.Interface+"/"+a.Spec.ContainerID)
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		listed   bool
		before   []railnetv1.IPAllocation
		obj      railnetv1.IPAllocation
		err      error
		deleting bool
		want     []string
	}{
		{name: "a created record joins", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1")},
			obj: rec("b", "net2", "c1"), want: []string{"a/net1/c1", "b/net2/c1"}},
		{name: "a moved record replaces the old one", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1"), rec("b", "net2", "c1")},
			obj: rec("a", "net1", "c2"), want: []string{"b/net2/c1", "a/net1/c2"}},
		{name: "a deleted record leaves", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1"), rec("b", "net2", "c1")},
			obj: rec("a", "net1", "c1"), deleting: true, want: []string{"b/net2/c1"}},
		{name: "a record already gone leaves too", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1")},
			obj: rec("a", "net1", "c1"), err: apierrors.NewNotFound(gr, "a"), deleting: true, want: []string{}},
		{name: "an address someone else holds changes nothing", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1")},
			obj: rec("b", "net2", "c1"), err: apierrors.NewAlreadyExists(gr, "b"), want: []string{"a/net1/c1"}},
		{name: "a create that may have happened forgets the pod", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1")},
			obj: rec("b", "net2", "c1"), err: apierrors.NewTimeoutError("slow", 1), want: []string{"unknown"}},
		{name: "a delete that may not have happened forgets the pod", listed: true, before: []railnetv1.IPAllocation{rec("a", "net1", "c1")},
			obj: rec("a", "net1", "c1"), err: errors.New("connection reset"), deleting: true, want: []string{"unknown"}},
		{name: "nothing known stays unknown", obj: rec("b", "net2", "c1"), want: []string{"unknown"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &podEntry{}
			if tt.listed {
				e.remember(slices.Clone(tt.before), at)
			}
			e.wrote(&tt.obj, tt.err, tt.deleting)
			if got := render(e); !slices.Equal(got, tt.want) {
				t.Fatalf("memo %q, want %q", got, tt.want)
			}
		})
	}
}

// acquire for tests, failing on an error.
func mustAcquire(t *testing.T, m *podMemo, uid string) *podEntry {
	e, err := m.acquire(context.Background(), uid)
	if err != nil {
		t.Error(err)
	}
	return e
}

// One request of a pod at a time; other pods are not held up; a waiter
// whose request ends gives up and says why; an entry is dropped once nobody
// holds it and its list is too old.
func TestPodMemoAcquire(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	m := &podMemo{now: func() time.Time { return now }}

	first := mustAcquire(t, m, "uid-1")
	first.remember([]railnetv1.IPAllocation{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}}, now)
	got := make(chan *podEntry)
	go func() { got <- mustAcquire(t, m, "uid-1") }()
	other := mustAcquire(t, m, "uid-2") // another pod does not wait for uid-1
	m.release(other)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.acquire(ctx, "uid-1"); err == nil ||
		err.Error() != "wait for the other request of pod UID uid-1: context canceled" {
		t.Fatalf("a waiter whose request ended: %v", err)
	}
	select {
	case <-got:
		t.Fatal("a second request of the pod ran while the first held it")
	default:
	}
	m.release(first)
	second := <-got
	if second != first {
		t.Fatal("the second request of the pod got another memo")
	}
	if all, ok := second.known(now); !ok || len(all) != 1 {
		t.Fatalf("the second request does not see what the first listed: %v %v", all, ok)
	}
	m.release(second)

	now = now.Add(memoFor)
	mustAcquire(t, m, "uid-3")
	m.mu.Lock()
	_, kept1 := m.pods["uid-1"]
	_, kept2 := m.pods["uid-2"]
	m.mu.Unlock()
	if kept1 || kept2 {
		t.Fatalf("entries nobody holds outlived their memo: uid-1 %v, uid-2 %v", kept1, kept2)
	}
}

// Many requests of a few pods at once: each pod is held by one at a time.
func TestPodMemoOneRequestPerPod(t *testing.T) {
	m := &podMemo{}
	inside := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uid := fmt.Sprintf("uid-%d", i%4)
			e := mustAcquire(t, m, uid)
			mu.Lock()
			inside[uid]++
			if inside[uid] != 1 {
				t.Errorf("%d requests of %s at once", inside[uid], uid)
			}
			mu.Unlock()
			runtime.Gosched()
			mu.Lock()
			inside[uid]--
			mu.Unlock()
			m.release(e)
		}()
	}
	wg.Wait()
}

// The eight interfaces of a pod added at once, each twice (a retried ADD
// racing the first): the pod's requests take turns, so its interfaces cost
// one live List together, each interface gets one address whichever of its
// two ADDs comes first, and the pod's other requests see what the first
// wrote (no interface ends with two records). Run with -race.
func TestConcurrentInterfacesOfOnePod(t *testing.T) {
	pool := &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: "gpu1-net11"},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", IPs: []string{"172.16.11.1-172.16.11.100"}}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).
		WithObjects(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}, pool).
		WithIndex(&railnetv1.IPAllocation{}, PoolField, IndexByPool).Build()
	var lists atomic.Int32 // the live Lists
	live := interceptor.NewClient(c, interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		lists.Add(1)
		return c.List(ctx, list, opts...)
	}})
	a := &Allocator{Node: "node-a", Reader: c, Writer: c, Live: live, PoolIndexed: true}
	type result struct {
		ifName string
		ip     netip.Prefix
		err    error
	}
	results := make(chan result, 16)
	var wg sync.WaitGroup
	for i := range 16 {
		ifName := fmt.Sprintf("net%d", i%8+1)
		wg.Go(func() {
			addrs, err := a.Allocate(context.Background(), Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
				PodNamespace: "train", PodName: "worker-0", PodUID: "uid-1", ContainerID: "c1", IfName: ifName})
			r := result{ifName: ifName, err: err}
			if err == nil && len(addrs) == 1 {
				r.ip = addrs[0].IP
			}
			results <- r
		})
	}
	wg.Wait()
	close(results)
	byIf := map[string]netip.Prefix{}
	for r := range results {
		if r.err != nil || !r.ip.IsValid() {
			t.Fatalf("ADD of %s: %v %v", r.ifName, r.ip, r.err)
		}
		if prev, ok := byIf[r.ifName]; ok && prev != r.ip {
			t.Fatalf("the two ADDs of %s got %s and %s", r.ifName, prev, r.ip)
		}
		byIf[r.ifName] = r.ip
	}
	if n := lists.Load(); n != 1 {
		t.Fatalf("%d live Lists for the pod's 16 ADDs, want 1", n)
	}
	var recorded railnetv1.IPAllocationList
	if err := c.List(context.Background(), &recorded); err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, r := range recorded.Items {
		if other, dup := ips[r.Spec.Interface]; dup {
			t.Fatalf("%s holds %s and %s", r.Spec.Interface, other, r.Spec.IP)
		}
		ips[r.Spec.Interface] = r.Spec.IP
		if want := byIf[r.Spec.Interface]; want.Addr().String() != r.Spec.IP {
			t.Fatalf("%s recorded %s, answered %s", r.Spec.Interface, r.Spec.IP, want)
		}
	}
	if len(ips) != 8 || len(byIf) != 8 {
		t.Fatalf("%d interfaces recorded, %d answered, want 8", len(ips), len(byIf))
	}
}
