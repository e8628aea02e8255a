package injectgroup

import (
	"strings"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// Keys are the annotations that name an inject group, in the order they are
// consulted.
var Keys = []string{
	spiderv2beta1.AnnotationRDMAResourceInject,
	spiderv2beta1.AnnotationNetworkResourceInject,
}

// Request is the inject group a pod asks for.
type Request struct {
	// Key is the annotation that named the group.
	Key string
	// Value is the annotation's raw value; Groups its comma-separated parts.
	Value  string
	Groups []string
	// FromNamespace is true when the namespace's annotation named the group.
	FromNamespace bool
}

// Lookup finds the inject group: the pod's own annotations (rdma key, then
// network key) win over the namespace's (same order). ok is false when
// neither names one.
func Lookup(podAnnotations, namespaceAnnotations map[string]string) (Request, bool) {
	for i, ann := range []map[string]string{podAnnotations, namespaceAnnotations} {
		for _, key := range Keys {
			if v, ok := ann[key]; ok {
				return Request{Key: key, Value: v, Groups: SplitGroups(v), FromNamespace: i == 1}, true
			}
		}
	}
	return Request{}, false
}

// Names reports whether annotations carry an inject annotation (Lookup
// would find one there), without splitting its value.
func Names(annotations map[string]string) bool {
	for _, k := range Keys {
		if _, ok := annotations[k]; ok {
			return true
		}
	}
	return false
}

// SplitGroups returns the groups of a comma-separated annotation value,
// blanks dropped.
func SplitGroups(v string) []string {
	var out []string
	for more := true; more; {
		var g string
		g, v, more = strings.Cut(v, ",")
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// InGroup reports whether a SpiderMultusConfig's annotation key lists group.
// It runs for every config on every injected pod, so it does not allocate.
func InGroup(smc *spiderv2beta1.SpiderMultusConfig, key, group string) bool {
	v, ok := smc.Annotations[key]
	for ok {
		var g string
		g, v, ok = strings.Cut(v, ",")
		if strings.TrimSpace(g) == group {
			return true
		}
	}
	return false
}

// Ask finds the inject group a pod in namespace asks for and whether cfg
// injects it there. The pod's own annotations win; namespaceAnnotations is
// called only when they name no group. ok is false when neither names one
// or cfg does not inject in namespace (disabled, excluded, or not
// included): the webhook then leaves the pod as it is, and the extender
// asks nothing of its nodes.
func Ask(namespace string, podAnnotations map[string]string, namespaceAnnotations func() map[string]string, cfg Config) (Request, bool) {
	if !cfg.Applies(namespace) {
		return Request{}, false
	}
	if Names(podAnnotations) {
		return Lookup(podAnnotations, nil)
	}
	return Lookup(nil, namespaceAnnotations())
}
