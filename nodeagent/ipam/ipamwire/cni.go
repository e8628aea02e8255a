package ipamwire

import (
	"os"

	"github.com/containernetworking/cni/pkg/types"
)

// SocketEnv overrides the IPAM socket for every plugin a runtime runs (the
// test ground's simulated nodes set it per node).
const SocketEnv = "RAILNET_IPAM_SOCKET"

// Socket is the socket a plugin calls: $RAILNET_IPAM_SOCKET when set, else
// the one its network configuration names, else DefaultSocket.
func Socket(configured string) string {
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	if configured != "" {
		return configured
	}
	return DefaultSocket
}

// K8sArgs are the CNI_ARGS a Kubernetes runtime (and Multus) passes.
type K8sArgs struct {
	types.CommonArgs
	K8S_POD_NAMESPACE types.UnmarshallableString //nolint:revive // CNI_ARGS names
	K8S_POD_NAME      types.UnmarshallableString //nolint:revive
	K8S_POD_UID       types.UnmarshallableString //nolint:revive
}
