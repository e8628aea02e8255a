package inject

import "slices"

// Config is the podResourceInject section of the service's ConfigMap.
type Config struct {
	// Enabled turns injection on; a disabled webhook passes every pod unchanged.
	Enabled bool `json:"enabled"`
	// NamespacesInclude, when not empty, limits injection to these namespaces.
	NamespacesInclude []string `json:"namespacesInclude,omitempty"`
	// NamespacesExclude are namespaces where pods are never injected; it wins
	// over NamespacesInclude.
	NamespacesExclude []string `json:"namespacesExclude,omitempty"`
	// NCCLConf mounts the node agent's NCCL conf file of the pod into the
	// RDMA container and points NCCL_CONF_FILE at it (AddNCCL); unset means
	// true.
	NCCLConf *bool `json:"ncclConf,omitempty"`
	// NCCLDir is the node agent's --nccl-dir (DefaultNCCLDir when empty).
	NCCLDir string `json:"ncclDir,omitempty"`
}

// Applies reports whether pods in namespace are injected at all.
func (c Config) Applies(namespace string) bool {
	if !c.Enabled || slices.Contains(c.NamespacesExclude, namespace) {
		return false
	}
	return len(c.NamespacesInclude) == 0 || slices.Contains(c.NamespacesInclude, namespace)
}

// NCCL reports whether injected RDMA containers get the NCCL conf file, and
// the node folder it lives in.
func (c Config) NCCL() (bool, string) {
	dir := c.NCCLDir
	if dir == "" {
		dir = DefaultNCCLDir
	}
	return c.NCCLConf == nil || *c.NCCLConf, dir
}
