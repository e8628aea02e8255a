package injectgroup

import (
	"fmt"
	"slices"
	"strings"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// Supported are the cniTypes whose configs can be injected.
var Supported = []string{
	spiderv2beta1.CNITypeMacvlan, spiderv2beta1.CNITypeIPVlan, spiderv2beta1.CNITypeSRIOV,
	spiderv2beta1.CNITypeIBSRIOV, spiderv2beta1.CNITypeIPoIB,
}

// Missing lists what keeps a SpiderMultusConfig from being injected under
// annotation key, each item a phrase naming the field to set; empty when the
// config is usable. For rdma-resource-inject a config needs an RDMA resource
// and an IP pool; for network-resource-inject it needs a pool whenever it has
// a resource.
func Missing(spec *spiderv2beta1.MultusCNIConfigSpec, key string) []string {
	typ := spec.Type()
	if !slices.Contains(Supported, typ) {
		return []string{fmt.Sprintf("cniType %q, which is not injectable (use one of %s)", typ, strings.Join(Supported, ", "))}
	}
	var out []string
	res, pools := spec.ResourceName(), spec.Pools()
	if key == spiderv2beta1.AnnotationRDMAResourceInject && res == "" {
		out = append(out, "no RDMA resource name (set "+resourceField(typ)+")")
	}
	if pools.Empty() && (key == spiderv2beta1.AnnotationRDMAResourceInject || res != "") {
		out = append(out, "no IP pool (set spec."+spiderv2beta1.SubField(typ)+".ippools.ipv4 or .ipv6)")
	}
	return out
}

func resourceField(typ string) string {
	switch typ {
	case spiderv2beta1.CNITypeSRIOV, spiderv2beta1.CNITypeIBSRIOV:
		return "spec." + spiderv2beta1.SubField(typ) + ".resourceName"
	case spiderv2beta1.CNITypeIPoIB:
		return "a resource: ipoib configs carry none, use network-resource-inject"
	}
	return "spec." + spiderv2beta1.SubField(typ) + ".rdmaResourceName"
}

// unusable says why smc cannot be injected under key, "" when it can.
func unusable(smc *spiderv2beta1.SpiderMultusConfig, key string) string {
	if miss := Missing(&smc.Spec, key); len(miss) > 0 {
		return fmt.Sprintf("SpiderMultusConfig %s/%s has %s", smc.Namespace, smc.Name, strings.Join(miss, " and "))
	}
	return ""
}
