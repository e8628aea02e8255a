package ground

// Versions of the node-side binaries the test ground builds.
const (
	CNIPluginsVersion = "v1.10.0"
	MultusVersion     = "v4.2.3"
)

// CNIPluginsTool describes the reference CNI plugins railnet chains with:
// macvlan for the rail interfaces, ptp + host-local for the cluster network
// (eth0), loopback and bridge for completeness of a node's CNI bin folder.
func CNIPluginsTool() GoTool {
	const mod = "github.com/containernetworking/plugins"
	return GoTool{
		Name:    "cni-plugins",
		Version: CNIPluginsVersion,
		Require: map[string]string{mod: CNIPluginsVersion},
		Binaries: map[string]string{
			"macvlan":    mod + "/plugins/main/macvlan",
			"ipvlan":     mod + "/plugins/main/ipvlan",
			"ptp":        mod + "/plugins/main/ptp",
			"bridge":     mod + "/plugins/main/bridge",
			"loopback":   mod + "/plugins/main/loopback",
			"host-local": mod + "/plugins/ipam/host-local",
		},
		Env: []string{"CGO_ENABLED=0"},
	}
}

// MultusTool describes Multus's thin CNI plugin, which reads a pod's
// k8s.v1.cni.cncf.io/networks annotation and its NetworkAttachmentDefinitions
// from the API server and delegates to their plugins.
func MultusTool() GoTool {
	const mod = "gopkg.in/k8snetworkplumbingwg/multus-cni.v4"
	return GoTool{
		Name:     "multus",
		Version:  MultusVersion,
		Require:  map[string]string{mod: MultusVersion},
		Binaries: map[string]string{"multus": mod + "/cmd/multus"},
		Env:      []string{"CGO_ENABLED=0"},
	}
}

// HelmVersion is the Helm the chart is linted, rendered and installed with.
const HelmVersion = "v4.3.1"

// HelmTool describes the helm command, built from its Go module.
func HelmTool() GoTool {
	const mod = "helm.sh/helm/v4"
	return GoTool{
		Name:     "helm",
		Version:  HelmVersion,
		Require:  map[string]string{mod: HelmVersion},
		Binaries: map[string]string{"helm": mod + "/cmd/helm"},
		LDFlags:  "-X helm.sh/helm/v4/internal/version.version=" + HelmVersion,
		Env:      []string{"CGO_ENABLED=0"},
		// Built as railnet's binaries are (static, -trimpath) and with their
		// client-go, apimachinery and api: compiled once for both.
		RequireAs: "go.mod",
	}
}

// WhereaboutsVersion is the IPAM railnet's allocator is measured against.
const WhereaboutsVersion = "v0.9.2"

// WhereaboutsTool describes the whereabouts IPAM plugin. Its go.mod replaces
// gogo/protobuf, so the builder module carries the same replace line.
func WhereaboutsTool() GoTool {
	const mod = "github.com/k8snetworkplumbingwg/whereabouts"
	return GoTool{
		Name:     "whereabouts",
		Version:  WhereaboutsVersion,
		Require:  map[string]string{mod: WhereaboutsVersion},
		Replace:  map[string]string{"github.com/gogo/protobuf": "github.com/gogo/protobuf v1.3.2"},
		Binaries: map[string]string{"whereabouts": mod + "/cmd"},
		Env:      []string{"CGO_ENABLED=0"},
	}
}
