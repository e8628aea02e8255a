package schedconfig

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/yaml"
)

// Verbs the extender serves under its URL prefix.
const (
	FilterVerb     = "filter"
	PrioritizeVerb = "prioritize"
)

// PercentageOfNodesToScore is what topology scoring needs: every feasible
// node scored, so the job's block is not missed by sampling.
const PercentageOfNodesToScore int32 = 100

// Options describe one deployment of the extender.
type Options struct {
	// URLPrefix is where the scheduler reaches the extender, e.g.
	// https://railnet-extender.railnet-system.svc:8443.
	URLPrefix string
	// Resources are the RDMA device-plugin resource names the extender
	// manages; only pods requesting one of them reach it.
	Resources []string
	// Weight multiplies the extender's 0-10 score; default 2.
	Weight int64
	// HTTPTimeout bounds one call; default 5s.
	HTTPTimeout time.Duration
	// TLS is the client TLS configuration for an https URLPrefix.
	TLS *schedconfigv1.ExtenderTLSConfig
}

// Extender returns the scheduler's Extender entry: filter and prioritize,
// node names only (nodeCacheCapable), RDMA resources still counted by the
// scheduler (ignoredByScheduler false) and not ignorable — a pod that needs
// rails must not be placed without the rail check.
func Extender(o Options) schedconfigv1.Extender {
	weight := o.Weight
	if weight == 0 {
		weight = 2
	}
	timeout := o.HTTPTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	res := slices.Clone(o.Resources)
	slices.Sort(res)
	res = slices.Compact(res)
	managed := make([]schedconfigv1.ExtenderManagedResource, len(res))
	for i, r := range res {
		managed[i] = schedconfigv1.ExtenderManagedResource{Name: r, IgnoredByScheduler: false}
	}
	return schedconfigv1.Extender{
		URLPrefix:        o.URLPrefix,
		FilterVerb:       FilterVerb,
		PrioritizeVerb:   PrioritizeVerb,
		Weight:           weight,
		EnableHTTPS:      len(o.URLPrefix) > 8 && o.URLPrefix[:8] == "https://",
		TLSConfig:        o.TLS,
		HTTPTimeout:      metav1.Duration{Duration: timeout},
		NodeCacheCapable: true,
		ManagedResources: managed,
		Ignorable:        false,
	}
}

// Snippet is the part of a KubeSchedulerConfiguration the extender needs, as
// YAML to merge into the scheduler's configuration.
func Snippet(o Options) ([]byte, error) {
	if len(o.Resources) == 0 {
		return nil, fmt.Errorf("no RDMA resource names: the extender would never be called; list the device plugin's resources")
	}
	// The scheduler's types omit false booleans; the snippet states them, so
	// a reader sees that the scheduler keeps counting slots and that the
	// extender is not optional.
	ext, err := toMap(Extender(o))
	if err != nil {
		return nil, err
	}
	ext["ignorable"] = false
	if mr, ok := ext["managedResources"].([]any); ok {
		for _, r := range mr {
			if m, ok := r.(map[string]any); ok {
				m["ignoredByScheduler"] = false
			}
		}
	}
	b, err := yaml.Marshal(map[string]any{
		"percentageOfNodesToScore": PercentageOfNodesToScore,
		"extenders":                []any{ext},
	})
	if err != nil {
		return nil, fmt.Errorf("marshal extender configuration: %w", err)
	}
	return b, nil
}

func toMap(e schedconfigv1.Extender) (map[string]any, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal extender configuration: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("unmarshal extender configuration: %w", err)
	}
	return m, nil
}
