package injectgroup

import (
	"fmt"
	"slices"

	"sigs.k8s.io/yaml"
)

// Config is the podResourceInject section of the webhook's ConfigMap, which
// the extender reads too.
type Config struct {
	// Enabled turns injection on; a disabled webhook passes every pod unchanged.
	Enabled bool `json:"enabled"`
	// NamespacesInclude, when not empty, limits injection to these namespaces.
	NamespacesInclude []string `json:"namespacesInclude,omitempty"`
	// NamespacesExclude are namespaces where pods are never injected; it wins
	// over NamespacesInclude.
	NamespacesExclude []string `json:"namespacesExclude,omitempty"`
	// NCCLConf mounts the node agent's NCCL conf file of the pod into the
	// RDMA container and points NCCL_CONF_FILE at it (the webhook's
	// inject.AddNCCL); unset means true.
	NCCLConf *bool `json:"ncclConf,omitempty"`
	// NCCLDir is the node agent's --nccl-dir (DefaultNCCLDir when empty).
	NCCLDir string `json:"ncclDir,omitempty"`
}

// DefaultNCCLDir is the node agent's default --nccl-dir.
const DefaultNCCLDir = "/run/railnet/nccl"

// NCCL reports whether injected RDMA containers get the NCCL conf file, and
// the node folder it lives in.
func (c Config) NCCL() (bool, string) {
	dir := c.NCCLDir
	if dir == "" {
		dir = DefaultNCCLDir
	}
	return c.NCCLConf == nil || *c.NCCLConf, dir
}

// Applies reports whether pods in namespace are injected at all.
func (c Config) Applies(namespace string) bool {
	if !c.Enabled || slices.Contains(c.NamespacesExclude, namespace) {
		return false
	}
	return len(c.NamespacesInclude) == 0 || slices.Contains(c.NamespacesInclude, namespace)
}

// ConfigKey is the ConfigMap key holding the service configuration (the
// chart's); LegacyConfigKey is Spiderpool's spelling, read when ConfigKey
// is absent.
const (
	ConfigKey       = "conf.yaml"
	LegacyConfigKey = "conf.yml"
)

// fileConfig is the part of conf.yaml railnet reads.
type fileConfig struct {
	PodResourceInject Config `json:"podResourceInject"`
}

// ParseConfig reads the podResourceInject section of a ConfigMap's data. A
// ConfigMap without the key means injection is off.
func ParseConfig(data map[string]string) (Config, error) {
	key := ConfigKey
	raw, ok := data[key]
	if !ok {
		key = LegacyConfigKey
		if raw, ok = data[key]; !ok {
			return Config{}, nil
		}
	}
	var fc fileConfig
	if err := yaml.Unmarshal([]byte(raw), &fc); err != nil {
		return Config{}, fmt.Errorf("ConfigMap key %s: %w", key, err)
	}
	return fc.PodResourceInject, nil
}
