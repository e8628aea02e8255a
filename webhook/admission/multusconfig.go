package admission

import (
	"context"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/validate"
)

// multusConfigCodec reads SpiderMultusConfigs (namespaced).
var multusConfigCodec = objectCodec[spiderv2beta1.SpiderMultusConfig, *spiderv2beta1.SpiderMultusConfig]{namespaced: true}

// multusConfigs defaults and validates SpiderMultusConfigs
// (webhook/validate).
type multusConfigs struct{ store Store }

// Default moves the seed guide's spellings to their canonical fields,
// refuses smc if it is invalid, and warns when one of its rails shares a
// subnet with another rail of its group. A refusal keeps the warnings of
// the moves.
func (m multusConfigs) Default(ctx context.Context, smc *spiderv2beta1.SpiderMultusConfig) (mutation, error) {
	warnings, err := validate.DefaultMultusConfig(smc)
	if err != nil {
		return mutation{Warnings: warnings}, forbidden(ReasonInvalidConfig, err)
	}
	if _, err := m.Validate(ctx, nil, smc); err != nil {
		return mutation{Warnings: warnings}, err
	}
	configs, pools, err := railObjects(ctx, m.store)
	if err != nil {
		return mutation{}, err
	}
	warnings = append(warnings, validate.SharedSubnetWarnings(smc, configs, pools)...)
	return mutation{Changed: true, Warnings: warnings}, nil
}

// Validate refuses a SpiderMultusConfig that cannot be rendered or
// injected; a deletion is always allowed.
func (multusConfigs) Validate(_ context.Context, _, smc *spiderv2beta1.SpiderMultusConfig) ([]string, error) {
	if smc == nil {
		return nil, nil
	}
	if err := validate.ValidateMultusConfig(smc); err != nil {
		return nil, forbidden(ReasonInvalidConfig, err)
	}
	return nil, nil
}
