package poolstatus

import (
	"cmp"
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/ippool"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/nodeagent/periodic"
)

// Reconciler keeps each SpiderIPPool's totalIPCount and allocatedIPCount
// equal to its usable addresses and its IPAllocations. It only writes when a
// count changed; the counts are derived, so a conflict just waits for the
// next pass.
type Reconciler struct {
	Client   client.Client
	Interval time.Duration
	// Metrics exports each pool's capacity and use while this agent keeps
	// the counters; nil exports nothing.
	Metrics *metrics.IPAM
}

// Run syncs every Interval (default 5s) until ctx ends.
func (p *Reconciler) Run(ctx context.Context) error {
	periodic.Every(ctx, cmp.Or(p.Interval, 5*time.Second), "SpiderIPPool counters", func(ctx context.Context) ([]string, error) {
		return nil, p.Sync(ctx)
	})
	p.Metrics.SetPools(nil) // another agent keeps the counters now
	return nil
}

// Sync runs one pass.
func (p *Reconciler) Sync(ctx context.Context) error {
	var pools spiderv2beta1.SpiderIPPoolList
	if err := p.Client.List(ctx, &pools); err != nil {
		return fmt.Errorf("list SpiderIPPools: %w", err)
	}
	var allocs railnetv1.IPAllocationList
	if err := p.Client.List(ctx, &allocs); err != nil {
		return fmt.Errorf("list IPAllocations: %w", err)
	}
	used := map[string]int64{}
	for _, a := range allocs.Items {
		used[a.Spec.Pool]++
	}
	uses := make([]metrics.PoolUse, 0, len(pools.Items))
	defer func() { p.Metrics.SetPools(uses) }()
	for i := range pools.Items {
		pool := &pools.Items[i]
		var total int64
		if u, err := ippool.Usable(pool); err == nil {
			total = int64(min(u.Count(), 1<<62))
		}
		allocated := used[pool.Name]
		uses = append(uses, metrics.PoolUse{Pool: pool.Name, Capacity: total, Used: allocated})
		st := pool.Status
		if st.TotalIPCount != nil && *st.TotalIPCount == total && st.AllocatedIPCount != nil && *st.AllocatedIPCount == allocated {
			continue
		}
		pool.Status.TotalIPCount, pool.Status.AllocatedIPCount = &total, &allocated
		if err := p.Client.Status().Update(ctx, pool); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("update status of SpiderIPPool %s: %w", pool.Name, err)
		}
	}
	return nil
}
