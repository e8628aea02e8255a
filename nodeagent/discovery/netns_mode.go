package discovery

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// NetnsModeFunc asks the kernel for the RDMA subsystem's network namespace
// mode, like `rdma system show netns` (netlink.RdmaSystemGetNetnsMode).
type NetnsModeFunc func() (string, error)

// NetnsMode maps the kernel's answer to the RDMANode's netnsMode: a kernel
// without RDMA netlink (EPROTONOSUPPORT) means no RDMA on this node and is
// reported as "unsupported", not as an error.
func NetnsMode(get NetnsModeFunc) (string, error) {
	if get == nil {
		return railnetv1.NetnsModeUnsupported, nil
	}
	mode, err := get()
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		return railnetv1.NetnsModeUnsupported, nil
	}
	if err != nil {
		return "", fmt.Errorf("read the RDMA netns mode: %w", err)
	}
	switch mode {
	case railnetv1.NetnsModeShared, railnetv1.NetnsModeExclusive:
		return mode, nil
	}
	return "", fmt.Errorf("read the RDMA netns mode: unknown mode %q", mode)
}

// KernelNetnsMode asks the running kernel over RDMA netlink.
func KernelNetnsMode() (string, error) {
	return netlink.RdmaSystemGetNetnsMode()
}
