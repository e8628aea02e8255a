package admission

import (
	"context"
	"net/netip"

	admissionv1 "k8s.io/api/admission/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/validate"
)

// poolCodec reads SpiderIPPools (cluster-scoped).
var poolCodec = objectCodec[spiderv2beta1.SpiderIPPool, *spiderv2beta1.SpiderIPPool]{}

// ipPools defaults and validates SpiderIPPools (webhook/validate). req is
// the review's request: the mutating webhook validates an UPDATE against
// its old object too.
type ipPools struct {
	store Store
	req   *admissionv1.AdmissionRequest
}

// Default normalises pool, refuses it if it is invalid, and warns when a
// rail drawing from it shares its subnet with another rail of its group.
// A refusal keeps the warnings of the normalisation.
func (p ipPools) Default(ctx context.Context, pool *spiderv2beta1.SpiderIPPool) (mutation, error) {
	warnings := validate.DefaultPool(pool)
	old, err := decodeOld(p.req, poolCodec)
	if err != nil {
		return mutation{Warnings: warnings}, err
	}
	if _, err := p.Validate(ctx, old, pool); err != nil {
		return mutation{Warnings: warnings}, err
	}
	configs, pools, err := railObjects(ctx, p.store)
	if err != nil {
		return mutation{}, err
	}
	warnings = append(warnings, validate.SharedSubnetPoolWarnings(pool, configs, pools)...)
	return mutation{Changed: true, Warnings: warnings}, nil
}

// Validate checks pool against the other pools and, on UPDATE, its
// allocations; on DELETE it refuses a pool that still has allocations.
func (p ipPools) Validate(ctx context.Context, old, pool *spiderv2beta1.SpiderIPPool) ([]string, error) {
	if pool == nil {
		inUse, err := p.store.AllocatedIPs(ctx, old.Name)
		if err != nil {
			return nil, storeFailed(err)
		}
		if err := validate.ValidatePoolDelete(old, inUse); err != nil {
			return nil, forbidden(ReasonPoolInUse, err)
		}
		return nil, nil
	}
	others, err := p.store.IPPools(ctx)
	if err != nil {
		return nil, storeFailed(err)
	}
	var inUse []netip.Addr
	if old != nil {
		if inUse, err = p.store.AllocatedIPs(ctx, pool.Name); err != nil {
			return nil, storeFailed(err)
		}
	}
	if err := validate.ValidatePool(pool, old, others, inUse); err != nil {
		return nil, forbidden(ReasonInvalidPool, err)
	}
	return nil, nil
}

// railObjects reads what the shared-subnet warnings compare: every
// SpiderMultusConfig and SpiderIPPool.
func railObjects(ctx context.Context, st Store) ([]*spiderv2beta1.SpiderMultusConfig, []spiderv2beta1.SpiderIPPool, error) {
	configs, err := st.MultusConfigs(ctx)
	if err != nil {
		return nil, nil, storeFailed(err)
	}
	pools, err := st.IPPools(ctx)
	if err != nil {
		return nil, nil, storeFailed(err)
	}
	return configs, pools, nil
}
