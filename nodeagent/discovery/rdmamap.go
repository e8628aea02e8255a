package discovery

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"github.com/Mellanox/rdmamap"
)

// rdmamap v1.2.0 keeps its sysfs and /dev paths in package variables, so it
// can be pointed at a root once per process: the agent does it at start-up,
// tests only in a test binary of their own (TestMain).
var (
	rdmamapOnce sync.Once
	rdmamapRoot string
)

// PointRdmamap points rdmamap at the sysfs tree under root ("/" on a node).
// It may be called once per process; a second call with another root is an
// error.
func PointRdmamap(root string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("sysfs root %q: %w", root, err)
	}
	rdmamapOnce.Do(func() {
		rdmamapRoot = abs
		rdmamap.RdmaClassDir = filepath.Join(abs, "sys/class/infiniband")
		rdmamap.RdmaIbUcmDir = filepath.Join(abs, "sys/class/infiniband_cm")
		rdmamap.RdmaUmadDir = filepath.Join(abs, "sys/class/infiniband_mad")
		rdmamap.RdmaUverbsDir = filepath.Join(abs, "sys/class/infiniband_verbs")
		rdmamap.RdmaUcmDevice = filepath.Join(abs, "dev/infiniband/rdma_cm")
		rdmamap.PciDevDir = filepath.Join(abs, "sys/bus/pci/devices")
		rdmamap.AuxDevDir = filepath.Join(abs, "sys/bus/auxiliary/devices")
		// Device nodes are named as the container sees them.
		rdmamap.RdmaDeviceDir = "/dev/infiniband"
	})
	if rdmamapRoot != abs {
		return fmt.Errorf("rdmamap already points at %s, cannot point it at %s in the same process", rdmamapRoot, abs)
	}
	return nil
}

// CharDevices returns the /dev/infiniband device nodes of an RDMA device
// (uverbsN, umadN, issmN where present, rdma_cm), sorted, as paths inside a
// container. PointRdmamap must have been called.
func CharDevices(rdmaDevice string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range rdmamap.GetRdmaCharDevices(rdmaDevice) {
		p = "/dev/infiniband/" + filepath.Base(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// PortCounters returns an RDMA device's per-port counters and hardware
// counters from sysfs (rdmamap's stats functions). PointRdmamap must have
// been called.
func PortCounters(rdmaDevice string) (rdmamap.RdmaStats, error) {
	st, err := rdmamap.GetRdmaSysfsAllPortsStats(rdmaDevice)
	if err != nil {
		return st, fmt.Errorf("counters of RDMA device %s: %w", rdmaDevice, err)
	}
	return st, nil
}
