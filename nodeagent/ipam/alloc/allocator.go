package alloc

import (
	"context"
	"fmt"
	"iter"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/ippool"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
	"github.com/railnet/railnet/nodeagent/metrics"
)

// Request, Address and Route are the wire types of the IPAM socket.
type (
	Request = ipamwire.Request
	Address = ipamwire.Address
	Route   = ipamwire.Route
)

// Allocator hands out addresses on one node. Reader may be a cache (pools,
// nodes and the pools' allocations are read from it); Writer must reach the
// API server, whose refusal of a duplicate name is the only lock. Live, when
// set, must read the API server itself: a pod's own allocations are read
// through it, so a retried ADD right after the first never misses the
// address the first one took. One live List serves all of a pod's
// interfaces allocated within memoFor of it: the allocator keeps what it
// listed and what it wrote since (podMemo), and lists again after a DEL of
// the pod or a write whose outcome it does not know.
type Allocator struct {
	Node   string
	Reader client.Reader
	Writer client.Writer
	Live   client.Reader
	// Metrics counts allocations, releases and failures; nil counts nothing.
	Metrics *metrics.IPAM
	// PoolIndexed says Reader is a cache carrying the PoolField index
	// (IndexByPool): a pool's allocations are then read through it, not
	// through a label selector, which a cache answers by looking at every
	// IPAllocation of the cluster.
	PoolIndexed bool

	pods podMemo
}

// PoolField names the field index of IPAllocations by pool that a cache
// Reader may carry (PoolIndexed).
const PoolField = "spec.pool"

// IndexByPool is the PoolField index: an IPAllocation's pool.
func IndexByPool(o client.Object) []string {
	if a, ok := o.(*railnetv1.IPAllocation); ok {
		return []string{a.Spec.Pool}
	}
	return nil
}

// Allocate returns one address per IP family the request names pools for,
// reusing the interface's existing allocation (CNI retries, a recreated
// sandbox). When a later family fails, the addresses taken for this request
// are released again.
func (a *Allocator) Allocate(ctx context.Context, req Request) (_ []Address, retErr error) {
	defer func() {
		if retErr != nil {
			a.Metrics.Failed(FailureReason(retErr))
		}
	}()
	if req.PodUID == "" || req.IfName == "" || req.PodNamespace == "" || req.PodName == "" {
		return nil, errIncompleteRequest
	}
	if req.Pools.Empty() {
		return nil, &noPoolError{fmt.Sprintf("pod %s/%s %s: the network names no SpiderIPPool (ipam.ippools is empty)", req.PodNamespace, req.PodName, req.IfName)}
	}
	node := &corev1.Node{}
	if err := a.Reader.Get(ctx, client.ObjectKey{Name: a.Node}, node); err != nil {
		return nil, fmt.Errorf("read node %s: %w", a.Node, err)
	}
	pod, err := a.pods.acquire(ctx, req.PodUID)
	if err != nil {
		return nil, err
	}
	defer a.pods.release(pod)
	mine, err := a.interfaceAllocations(ctx, pod, req.PodUID, req.IfName)
	if err != nil {
		return nil, err
	}
	var out []Address
	var taken []*railnetv1.IPAllocation
	defer func() {
		if retErr != nil {
			for _, t := range taken {
				pod.wrote(t, a.Writer.Delete(ctx, t), true)
			}
		}
	}()
	for i, family := range [][]string{req.Pools.IPv4, req.Pools.IPv6} {
		if len(family) == 0 {
			continue
		}
		addr, alloc, created, err := a.allocateFamily(ctx, pod, req, family, i == 1, node, mine)
		if err != nil {
			return nil, err
		}
		if created {
			taken = append(taken, alloc)
		}
		out = append(out, addr)
	}
	for _, t := range taken {
		a.Metrics.Allocated(t.Spec.Pool)
	}
	return out, nil
}

// allocateFamily gives the interface an address of the first of pools (one
// family's) that can. It reads the pools, lets planFamily decide what each
// can do, and acts on the plan: moves a reused record, or tries the free
// addresses of each usable pool in turn (tryCreate). A pool that could not
// be read fails the allocation only when the walk reaches it.
func (a *Allocator) allocateFamily(ctx context.Context, pod *podEntry, req Request, pools []string, ipv6 bool, node *corev1.Node,
	mine []railnetv1.IPAllocation) (Address, *railnetv1.IPAllocation, bool, error) {
	read := make(map[string]*spiderv2beta1.SpiderIPPool, len(pools))
	var failed map[string]error
	for _, name := range pools {
		pool := &spiderv2beta1.SpiderIPPool{}
		if err := a.Reader.Get(ctx, client.ObjectKey{Name: name}, pool); err != nil {
			pool = nil
			if !apierrors.IsNotFound(err) {
				if failed == nil {
					failed = map[string]error{}
				}
				failed[name] = fmt.Errorf("read SpiderIPPool %s: %w", name, err)
			}
		}
		read[name] = pool
	}
	var reasons []string
	full := false
	for _, st := range planFamily(pools, read, failed, ipv6, node, req, mine) {
		switch {
		case st.Err != nil:
			return Address{}, nil, false, st.Err
		case st.Skip != "":
			reasons = append(reasons, st.Skip)
			continue
		case st.Reuse != nil:
			addr, err := address(st.Pool, st.Reuse.Spec.IP)
			if err != nil {
				return Address{}, nil, false, err
			}
			if st.MoveTo != "" {
				cur := st.Reuse.DeepCopy()
				cur.Spec.ContainerID = st.MoveTo
				err := a.Writer.Update(ctx, cur)
				pod.wrote(cur, err, false)
				if err != nil {
					return Address{}, nil, false, fmt.Errorf("move IPAllocation %s to container %s: %w", cur.Name, st.MoveTo, err)
				}
			}
			return addr, st.Reuse, false, nil
		}
		used, err := a.usedIPs(ctx, st.Pool.Name)
		if err != nil {
			return Address{}, nil, false, err
		}
		addr, alloc, err := a.tryCreate(ctx, pod, st.Pool, free(st.Usable, used, req), used, req)
		if err != nil || alloc != nil {
			return addr, alloc, alloc != nil, err
		}
		reasons = append(reasons, fullReason(st.Pool.Name, used, st.Usable))
		full = true
	}
	return Address{}, nil, false, &ExhaustedError{Pod: req.PodNamespace + "/" + req.PodName, IfName: req.IfName, Reasons: reasons, Full: full}
}

// tryCreate records the first of addrs that no other record holds, marking
// in used those the API server says are taken; no allocation and no error
// when every one was.
func (a *Allocator) tryCreate(ctx context.Context, pod *podEntry, pool *spiderv2beta1.SpiderIPPool, addrs iter.Seq[netip.Addr],
	used map[netip.Addr]bool, req Request) (Address, *railnetv1.IPAllocation, error) {
	for ip := range addrs {
		alloc := newAllocation(pool.Name, ip, req, a.Node)
		err := a.Writer.Create(ctx, alloc)
		pod.wrote(alloc, err, false)
		if apierrors.IsAlreadyExists(err) {
			// Taken since our cache last looked, or held through another
			// pool that shares the address.
			used[ip] = true
			continue
		}
		if err != nil {
			return Address{}, nil, fmt.Errorf("record %s of SpiderIPPool %s: %w", ip, pool.Name, err)
		}
		addr, err := address(pool, ip.String())
		if err != nil {
			pod.wrote(alloc, a.Writer.Delete(ctx, alloc), true)
			return Address{}, nil, err
		}
		klog.FromContext(ctx).V(2).Info("allocated", "pool", pool.Name, "ip", ip, "pod", req.PodNamespace+"/"+req.PodName, "interface", req.IfName)
		return addr, alloc, nil
	}
	return Address{}, nil, nil
}

// familyMatches refuses a pool listed under the other family's ippools: an
// IPv6 pool under ipv4 would give the interface two IPv6 addresses and no
// IPv4 one.
func familyMatches(pool *spiderv2beta1.SpiderIPPool, ipv6 bool) error {
	subnet, err := netip.ParsePrefix(pool.Spec.Subnet)
	if err != nil {
		return fmt.Errorf("SpiderIPPool %s: spec.subnet %q is not a CIDR", pool.Name, pool.Spec.Subnet)
	}
	if is6 := subnet.Addr().Unmap().Is6(); is6 != ipv6 {
		have, want := "IPv4", "ipv6"
		if is6 {
			have, want = "IPv6", "ipv4"
		}
		return fmt.Errorf("SpiderIPPool %s is an %s pool (spec.subnet %s) but is listed under ippools.%s; list it under the other family",
			pool.Name, have, pool.Spec.Subnet, want)
	}
	return nil
}

// ExhaustedError says that none of a network's pools could give an address.
type ExhaustedError struct {
	Pod, IfName string
	Reasons     []string
	// Full is set when at least one of the pools had no free address (the
	// others were missing, of the other family or not for this node).
	Full bool
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("no address for %s of pod %s: %s; free addresses (delete unused pods or widen spec.ips) or name another pool",
		e.IfName, e.Pod, strings.Join(e.Reasons, "; "))
}

// Release frees the interface's addresses held for containerID (all of the
// interface's addresses when containerID is empty). Releasing twice is fine.
func (a *Allocator) Release(ctx context.Context, podUID, containerID, ifName string) error {
	pod, err := a.pods.acquire(ctx, podUID)
	if err != nil {
		return err
	}
	defer a.pods.release(pod)
	// The next ADD of the pod lists live again: a DEL is rare enough.
	defer pod.forget()
	all, err := a.podAllocations(ctx, podUID)
	if err != nil {
		return err
	}
	mine := ofInterface(all, ifName)
	for i := range mine {
		if containerID != "" && mine[i].Spec.ContainerID != "" && mine[i].Spec.ContainerID != containerID {
			continue // a newer sandbox of the pod owns it now
		}
		err := a.Writer.Delete(ctx, &mine[i], client.Preconditions{UID: &mine[i].UID})
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("release IPAllocation %s: %w", mine[i].Name, err)
		}
		if err == nil {
			a.Metrics.Released(mine[i].Spec.Pool, metrics.ReleasedByCNI)
		}
	}
	return nil
}

// Check reports an error unless every address of the interface is still
// recorded for it.
func (a *Allocator) Check(ctx context.Context, podUID, ifName string, want []netip.Addr) error {
	all, err := a.podAllocations(ctx, podUID)
	if err != nil {
		return err
	}
	have := map[netip.Addr]bool{}
	for _, m := range ofInterface(all, ifName) {
		if ip, err := netip.ParseAddr(m.Spec.IP); err == nil {
			have[ip] = true
		}
	}
	for _, ip := range want {
		if !have[ip] {
			return fmt.Errorf("%s of pod UID %s: %s is no longer allocated to it", ifName, podUID, ip)
		}
	}
	return nil
}

// interfaceAllocations returns the interface's allocations: from the pod's
// memo when it is valid, else listed live (and remembered).
func (a *Allocator) interfaceAllocations(ctx context.Context, pod *podEntry, podUID, ifName string) ([]railnetv1.IPAllocation, error) {
	if all, ok := pod.known(a.pods.clock()); ok {
		return ofInterface(all, ifName), nil
	}
	// The time before the List: the memo's age counts from the oldest
	// moment the list may describe.
	listed := a.pods.clock()
	all, err := a.podAllocations(ctx, podUID)
	if err != nil {
		return nil, err
	}
	pod.remember(all, listed)
	return ofInterface(all, ifName), nil
}

// podAllocations lists the pod's allocations, live when Live is set.
func (a *Allocator) podAllocations(ctx context.Context, podUID string) ([]railnetv1.IPAllocation, error) {
	r := a.Live
	if r == nil {
		r = a.Reader
	}
	var list railnetv1.IPAllocationList
	if err := r.List(ctx, &list, client.MatchingLabels{railnetv1.LabelPodUID: podUID}); err != nil {
		return nil, fmt.Errorf("list IPAllocations of pod UID %s: %w", podUID, err)
	}
	return list.Items, nil
}

// ofInterface returns, in a slice of its own, the allocations of ifName.
func ofInterface(all []railnetv1.IPAllocation, ifName string) []railnetv1.IPAllocation {
	var out []railnetv1.IPAllocation
	for _, it := range all {
		if it.Spec.Interface == ifName {
			out = append(out, it)
		}
	}
	return out
}

func (a *Allocator) usedIPs(ctx context.Context, pool string) (map[netip.Addr]bool, error) {
	var list railnetv1.IPAllocationList
	var of client.ListOption = client.MatchingLabels{railnetv1.LabelPool: pool}
	if a.PoolIndexed {
		of = client.MatchingFields{PoolField: pool}
	}
	if err := a.Reader.List(ctx, &list, of); err != nil {
		return nil, fmt.Errorf("list IPAllocations of SpiderIPPool %s: %w", pool, err)
	}
	used := make(map[netip.Addr]bool, len(list.Items))
	for _, it := range list.Items {
		if ip, err := netip.ParseAddr(it.Spec.IP); err == nil {
			used[ip] = true
		}
	}
	return used, nil
}

func countIn(used map[netip.Addr]bool, s ippool.Set) uint64 {
	var n uint64
	for ip := range used {
		if s.Contains(ip) {
			n++
		}
	}
	return n
}

func newAllocation(pool string, ip netip.Addr, req Request, node string) *railnetv1.IPAllocation {
	return &railnetv1.IPAllocation{
		ObjectMeta: metav1.ObjectMeta{
			Name: railnetv1.AllocationName(ip),
			Labels: map[string]string{
				railnetv1.LabelPool: pool, railnetv1.LabelNode: node, railnetv1.LabelPodUID: req.PodUID,
			},
		},
		Spec: railnetv1.IPAllocationSpec{
			Pool: pool, IP: ip.String(), PodNamespace: req.PodNamespace, PodName: req.PodName, PodUID: req.PodUID,
			ContainerID: req.ContainerID, Interface: req.IfName, Node: node,
		},
	}
}

// address builds what the interface needs from the pool: the IP with the
// subnet's prefix length, the gateway and the routes.
func address(pool *spiderv2beta1.SpiderIPPool, ipStr string) (Address, error) {
	ip, err := netip.ParseAddr(ipStr)
	if err != nil {
		return Address{}, fmt.Errorf("IPAllocation of SpiderIPPool %s holds %q, not an address", pool.Name, ipStr)
	}
	subnet, err := netip.ParsePrefix(pool.Spec.Subnet)
	if err != nil {
		return Address{}, fmt.Errorf("SpiderIPPool %s: spec.subnet %q: %w", pool.Name, pool.Spec.Subnet, err)
	}
	addr := Address{Pool: pool.Name, IP: netip.PrefixFrom(ip, subnet.Bits())}
	if pool.Spec.Gateway != nil && *pool.Spec.Gateway != "" {
		gw, err := netip.ParseAddr(*pool.Spec.Gateway)
		if err != nil {
			return Address{}, fmt.Errorf("SpiderIPPool %s: spec.gateway %q is not an address", pool.Name, *pool.Spec.Gateway)
		}
		addr.Gateway = gw
	}
	for _, r := range pool.Spec.Routes {
		dst, err1 := netip.ParsePrefix(r.Dst)
		gw, err2 := netip.ParseAddr(r.Gw)
		if err1 != nil || err2 != nil {
			return Address{}, fmt.Errorf("SpiderIPPool %s: route %s via %s is malformed", pool.Name, r.Dst, r.Gw)
		}
		addr.Routes = append(addr.Routes, Route{Dst: dst.Masked(), Gw: gw})
	}
	return addr, nil
}
