package ipam_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/cniconf"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/ipam/alloc"
	"github.com/railnet/railnet/test/ground"
)

// countingReader counts the Lists that reach the API server through it.
type countingReader struct {
	client.Reader
	lists atomic.Int32
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists.Add(1)
	return c.Reader.List(ctx, list, opts...)
}

// lossyWriter creates for real but, while lose is set, answers the first
// Create with the error of a connection lost before the answer came.
type lossyWriter struct {
	client.Writer
	lose atomic.Bool
}

func (w *lossyWriter) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	err := w.Writer.Create(ctx, obj, opts...)
	if err == nil && w.lose.CompareAndSwap(true, false) {
		return errors.New("http2: client connection lost")
	}
	return err
}

// podAllocations returns the pod's IPAllocations by interface, as the API
// server holds them.
func podAllocations(ctx context.Context, t *testing.T, uid string) map[string][]string {
	t.Helper()
	var list railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &list, client.MatchingLabels{railnetv1.LabelPodUID: uid}); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, a := range list.Items {
		out[a.Spec.Interface] = append(out[a.Spec.Interface], a.Spec.IP)
	}
	return out
}

// The eight interfaces of a pod, added one after the other, cost one live
// List together; a retried ADD reuses the address without another; a DEL
// makes the next ADD list again; a restarted agent (a new allocator) finds
// what the old one recorded.
func TestOneLiveListPerPod(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := createPool(ctx, t, "memo-pool", "10.24.0.0/24", []string{"10.24.0.1-10.24.0.100"}, "")
	cluster.CreateNode(t, ground.NodeSpec{Name: "memo-node"})
	live := &countingReader{Reader: cluster.Client}
	a := &alloc.Allocator{Node: "memo-node", Reader: cluster.Client, Writer: cluster.Client, Live: live}
	req := func(ifName string) alloc.Request {
		return alloc.Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
			PodNamespace: "memo", PodName: "worker-0", PodUID: "uid-memo", ContainerID: "c1", IfName: ifName}
	}
	got := map[string]string{}
	for i := 1; i <= 8; i++ {
		ifName := fmt.Sprintf("net%d", i)
		addrs, err := a.Allocate(ctx, req(ifName))
		if err != nil {
			t.Fatal(err)
		}
		got[ifName] = addrs[0].IP.Addr().String()
	}
	if n := live.lists.Load(); n != 1 {
		t.Errorf("8 interfaces of one pod listed its allocations live %d times, want once", n)
	}
	held := podAllocations(ctx, t, "uid-memo")
	seen := map[string]bool{}
	for ifName, ip := range got {
		if len(held[ifName]) != 1 || held[ifName][0] != ip {
			t.Errorf("%s got %s but the API server holds %v for it", ifName, ip, held[ifName])
		}
		if seen[ip] {
			t.Errorf("%s was given twice", ip)
		}
		seen[ip] = true
	}

	again, err := a.Allocate(ctx, req("net3"))
	if err != nil || again[0].IP.Addr().String() != got["net3"] {
		t.Fatalf("a retried ADD of net3 got %v (%v), want %s", again, err, got["net3"])
	}
	if n := live.lists.Load(); n != 1 {
		t.Errorf("a retried ADD listed live again (%d Lists)", n)
	}

	if err := a.Release(ctx, "uid-memo", "c1", "net3"); err != nil {
		t.Fatal(err)
	}
	before := live.lists.Load()
	if _, err := a.Allocate(ctx, req("net3")); err != nil {
		t.Fatal(err)
	}
	if n := live.lists.Load() - before; n != 1 {
		t.Errorf("the ADD after a DEL listed live %d times, want once (the DEL's changes must not be taken from memory)", n)
	}
	held = podAllocations(ctx, t, "uid-memo")
	if len(held) != 8 || len(held["net3"]) != 1 {
		t.Errorf("after DEL and ADD of net3 the pod holds %v, want one address on each of 8 interfaces", held)
	}

	restarted := &alloc.Allocator{Node: "memo-node", Reader: cluster.Client, Writer: cluster.Client, Live: &countingReader{Reader: cluster.Client}}
	addrs, err := restarted.Allocate(ctx, req("net5"))
	if err != nil || addrs[0].IP.Addr().String() != got["net5"] {
		t.Fatalf("a restarted agent's retry of net5 got %v (%v), want %s", addrs, err, got["net5"])
	}
	if held := podAllocations(ctx, t, "uid-memo"); len(held["net5"]) != 1 {
		t.Errorf("net5 holds %v after the restarted agent's retry, want one address", held["net5"])
	}
}

// An ADD whose Create reached the API server but whose answer was lost
// fails; its retry takes the address that Create recorded, not a second
// one. Concurrent ADDs of one interface (a runtime retrying while the first
// is still running) take one address between them.
func TestRetriesNeverTakeASecondAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool := createPool(ctx, t, "retry-pool", "10.25.0.0/24", []string{"10.25.0.1-10.25.0.100"}, "")
	cluster.CreateNode(t, ground.NodeSpec{Name: "retry-node"})
	w := &lossyWriter{Writer: cluster.Client}
	a := &alloc.Allocator{Node: "retry-node", Reader: cluster.Client, Writer: w, Live: cluster.Client}
	req := func(uid, ifName string) alloc.Request {
		return alloc.Request{Pools: cniconf.Pools{IPv4: []string{pool.Name}},
			PodNamespace: "retry", PodName: "worker-" + uid, PodUID: uid, ContainerID: "c1", IfName: ifName}
	}

	// net1 makes the pod's memo valid before net2's answer is lost.
	if _, err := a.Allocate(ctx, req("uid-lost", "net1")); err != nil {
		t.Fatal(err)
	}
	w.lose.Store(true)
	if _, err := a.Allocate(ctx, req("uid-lost", "net2")); err == nil {
		t.Fatal("an ADD whose answer was lost succeeded")
	}
	addrs, err := a.Allocate(ctx, req("uid-lost", "net2"))
	if err != nil {
		t.Fatal(err)
	}
	held := podAllocations(ctx, t, "uid-lost")
	if len(held["net2"]) != 1 || held["net2"][0] != addrs[0].IP.Addr().String() {
		t.Errorf("after a lost answer and a retry, net2 holds %v and was given %s; want the one address", held["net2"], addrs[0].IP.Addr())
	}

	const tries = 8
	ips := make([]string, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addrs, err := a.Allocate(ctx, req("uid-race", "net1"))
			if err != nil {
				t.Error(err)
				return
			}
			ips[i] = addrs[0].IP.Addr().String()
		}()
	}
	wg.Wait()
	held = podAllocations(ctx, t, "uid-race")
	if len(held["net1"]) != 1 {
		t.Fatalf("%d concurrent ADDs of one interface recorded %v", tries, held["net1"])
	}
	for _, ip := range ips {
		if ip != held["net1"][0] {
			t.Errorf("concurrent ADDs were given %v, want %s for each", ips, held["net1"][0])
			break
		}
	}
}
