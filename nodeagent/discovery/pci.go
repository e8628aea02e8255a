package discovery

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// PCI class codes (class >> 8) of GPUs: VGA compatible and 3D controllers.
const (
	pciVendorNVIDIA = "10de"
	pciClassVGA     = 0x0300
	pciClass3D      = 0x0302
)

var pciAddrRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// pciDevice is one PCI function and its place in the device tree.
type pciDevice struct {
	Addr string
	// DevPath is the resolved sysfs device path, e.g.
	// /sys/devices/pci0000:00/0000:00:01.0/0000:0b:00.0.
	DevPath string
	NUMA    int32
}

// isGPUClass reports whether a PCI class attribute ("0x030200") is a GPU's.
func isGPUClass(class string) bool {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(class), "0x"), 16, 32)
	if err != nil {
		return false
	}
	c := v >> 8
	return c == pciClassVGA || c == pciClass3D
}

// gpus lists NVIDIA GPUs in PCI address order.
func (s sysfs) gpus() ([]pciDevice, error) {
	addrs, err := s.names("sys/bus/pci/devices")
	if err != nil {
		return nil, err
	}
	var out []pciDevice
	for _, a := range addrs {
		dir := "sys/bus/pci/devices/" + a
		if hexID(s.readOr(dir+"/vendor", "")) != pciVendorNVIDIA || !isGPUClass(s.readOr(dir+"/class", "")) {
			continue
		}
		dev, err := s.pciDevice(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, dev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

// pciDevice reads the PCI function that dir (any path resolving to it) is.
func (s sysfs) pciDevice(dir string) (pciDevice, error) {
	p, err := s.resolve(dir)
	if err != nil {
		return pciDevice{}, err
	}
	return pciDevice{Addr: path.Base(p), DevPath: p, NUMA: int32(s.readInt(dir+"/numa_node", -1))}, nil
}

// GPUList turns discovered GPUs into the API form; Index is the position in
// PCI address order.
func gpuList(gpus []pciDevice) []railnetv1.GPU {
	out := make([]railnetv1.GPU, 0, len(gpus))
	for i, g := range gpus {
		out = append(out, railnetv1.GPU{PCIAddress: g.Addr, Index: int32(i), NUMANode: g.NUMA})
	}
	return out
}

// distanceRank orders PCIe distances from nearest to farthest.
var distanceRank = map[string]int{
	railnetv1.DistancePIX: 0, railnetv1.DistancePXB: 1, railnetv1.DistancePHB: 2,
	railnetv1.DistanceNODE: 3, railnetv1.DistanceSYS: 4,
}

// Distance classifies the PCIe path between two PCI functions from their
// sysfs device paths (/sys/devices/pciDDDD:BB/<bridge>/.../<function>) and
// NUMA nodes, in nvidia-smi topo terms:
//   - different root complexes: SYS across NUMA nodes, NODE within one (or
//     when the platform reports no NUMA node);
//   - the deepest common ancestor is the root complex itself: PHB;
//   - the common ancestor is a PCIe bridge and each device sits at most one
//     switch below it (downstream port + function): PIX; deeper: PXB.
func Distance(a, b string, numaA, numaB int32) (string, error) {
	pa, err := splitDevPath(a)
	if err != nil {
		return "", err
	}
	pb, err := splitDevPath(b)
	if err != nil {
		return "", err
	}
	if pa[0] != pb[0] {
		if numaA >= 0 && numaB >= 0 && numaA != numaB {
			return railnetv1.DistanceSYS, nil
		}
		return railnetv1.DistanceNODE, nil
	}
	common := 0
	for common < len(pa) && common < len(pb) && pa[common] == pb[common] {
		common++
	}
	if common == 1 {
		return railnetv1.DistancePHB, nil
	}
	belowA, belowB := len(pa)-common, len(pb)-common
	if belowA <= 2 && belowB <= 2 {
		return railnetv1.DistancePIX, nil
	}
	return railnetv1.DistancePXB, nil
}

// splitDevPath returns [pciDDDD:BB, bridge..., function] of a sysfs device
// path.
func splitDevPath(p string) ([]string, error) {
	rest, ok := strings.CutPrefix(p, "/sys/devices/")
	if !ok {
		return nil, fmt.Errorf("PCI device path %q is not under /sys/devices", p)
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "pci") {
		return nil, fmt.Errorf("PCI device path %q has no root complex and function", p)
	}
	for _, c := range parts[1:] {
		if !pciAddrRE.MatchString(c) {
			return nil, fmt.Errorf("PCI device path %q: %q is not a PCI address", p, c)
		}
	}
	return parts, nil
}

// nearestGPU returns the GPU closest to the function at devPath: smallest
// distance, then lowest GPU index.
func nearestGPU(devPath string, numa int32, gpus []pciDevice) (idx int, dist string, err error) {
	idx = -1
	for i, g := range gpus {
		d, err := Distance(devPath, g.DevPath, numa, g.NUMA)
		if err != nil {
			return -1, "", err
		}
		if idx < 0 || distanceRank[d] < distanceRank[dist] {
			idx, dist = i, d
		}
	}
	return idx, dist, nil
}
