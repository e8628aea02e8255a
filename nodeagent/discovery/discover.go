package discovery

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Options are the inputs of one discovery.
type Options struct {
	// SysfsRoot stands for "/" when reading /sys ("/" on a node).
	SysfsRoot string
	// Links reads netdev state (operstate, MTU) from the node's netns.
	Links Links
	// NetnsMode asks for the RDMA netns mode; nil counts as unsupported.
	NetnsMode NetnsModeFunc
	// Rails says where rail numbers come from.
	Rails RailConfig
}

// Node is what discovery found.
type Node struct {
	NetnsMode string
	NICs      []railnetv1.NIC // sorted by netdev name, naturally
	GPUs      []railnetv1.GPU // sorted by PCI address
	// RailSource is the rail source used (RailSource* constants).
	RailSource string
}

// Discover reads the node's RDMA NICs, GPUs and netns mode.
func Discover(opts Options) (*Node, error) {
	if opts.Links == nil {
		return nil, fmt.Errorf("discovery needs a netlink handle")
	}
	s := sysfs{root: opts.SysfsRoot}
	if fi, err := os.Stat(s.path("sys/bus/pci/devices")); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sysfs root %q has no sys/bus/pci/devices: pass --sysfs-root=/ or the folder where the host's / (with /sys) is mounted", opts.SysfsRoot)
	}
	mode, err := NetnsMode(opts.NetnsMode)
	if err != nil {
		return nil, err
	}
	gpus, err := s.gpus()
	if err != nil {
		return nil, fmt.Errorf("list GPUs under %s: %w", opts.SysfsRoot, err)
	}
	nics, err := s.rdmaNICs(opts.Links, gpus)
	if err != nil {
		return nil, err
	}
	n := &Node{NetnsMode: mode, NICs: nics, GPUs: gpuList(gpus)}
	n.RailSource = AssignRails(n.NICs, n.GPUs, opts.Rails)
	return n, nil
}

// rdmaNICs returns one NIC per (RDMA device port, netdev).
func (s sysfs) rdmaNICs(links Links, gpus []pciDevice) ([]railnetv1.NIC, error) {
	devs, err := s.names("sys/class/infiniband")
	if err != nil {
		return nil, err
	}
	var nics []railnetv1.NIC
	for _, dev := range devs {
		devNICs, err := s.rdmaDeviceNICs(links, dev, gpus)
		if err != nil {
			return nil, fmt.Errorf("RDMA device %s: %w", dev, err)
		}
		nics = append(nics, devNICs...)
	}
	sort.Slice(nics, func(i, j int) bool { return NaturalLess(nics[i].Netdev, nics[j].Netdev) })
	return nics, nil
}

func (s sysfs) rdmaDeviceNICs(links Links, dev string, gpus []pciDevice) ([]railnetv1.NIC, error) {
	devDir := "sys/class/infiniband/" + dev
	pciDir := devDir + "/device"
	pci, err := s.pciDevice(pciDir)
	if err != nil {
		return nil, err
	}
	netdevs, err := s.names(pciDir + "/net")
	if err != nil {
		return nil, err
	}
	ports, err := s.names(devDir + "/ports")
	if err != nil {
		return nil, err
	}
	base := railnetv1.NIC{
		RDMADevice: dev,
		PCIAddress: pci.Addr,
		VendorID:   hexID(s.readOr(pciDir+"/vendor", "")),
		DeviceID:   hexID(s.readOr(pciDir+"/device", "")),
		NUMANode:   pci.NUMA,
	}
	if drv, err := s.resolve(pciDir + "/driver"); err == nil {
		base.Driver = path.Base(drv)
	}
	if i, d, err := nearestGPU(pci.DevPath, pci.NUMA, gpus); err != nil {
		return nil, err
	} else if i >= 0 {
		base.NearestGPU, base.GPUDistance = gpus[i].Addr, d
	}
	var out []railnetv1.NIC
	for _, p := range ports {
		portNum, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		pdir := devDir + "/ports/" + p
		port := base
		port.Port = int32(portNum)
		port.PortState = portState(s.readOr(pdir+"/state", ""))
		port.PhysState = physState(s.readOr(pdir+"/phys_state", ""))
		port.LinkLayer = s.readOr(pdir+"/link_layer", "")
		gids, err := s.gidTable(pdir)
		if err != nil {
			return nil, err
		}
		port.GIDTableSize, port.GIDTableUsed = gids.size, int32(len(gids.used))
		ndevs := gids.ndevs()
		// The port's netdev: named by its GID attributes, else the PCI
		// function's netdev when it has exactly one port and one netdev.
		name := ""
		for _, n := range ndevs {
			if contains(netdevs, n) {
				name = n
				break
			}
		}
		if name == "" && len(ports) == 1 && len(netdevs) == 1 {
			name = netdevs[0]
		}
		if name == "" {
			continue // an RDMA port without a netdev is not a NIC we can use
		}
		port.Netdev = name
		port.GIDsPerAddress, port.GIDsPerInterface = GIDsPerInterface(gids.used, name)
		port.SpeedMbps = max(s.readInt("sys/class/net/"+name+"/speed", 0), 0)
		port.LinkState, port.MTU, err = linkState(links, name)
		if err != nil {
			return nil, err
		}
		out = append(out, port)
	}
	return out, nil
}

// gidTable reads the port's GID table: its length and the used entries.
func (s sysfs) gidTable(portDir string) (gidTable, error) {
	names, err := s.names(portDir + "/gids")
	if err != nil {
		return gidTable{}, err
	}
	var t gidTable
	for _, g := range names {
		t.size++
		v := s.readOr(portDir+"/gids/"+g, "")
		if v == "" || strings.Trim(v, "0:") == "" {
			continue
		}
		// Unused entries' attributes cannot be read (EINVAL on a node).
		t.used = append(t.used, GIDEntry{
			GID:    v,
			Type:   s.readOr(portDir+"/gid_attrs/types/"+g, ""),
			Netdev: s.readOr(portDir+"/gid_attrs/ndevs/"+g, ""),
		})
	}
	return t, nil
}

type gidTable struct {
	size int32
	used []GIDEntry
}

// ndevs are the netdevs the used entries name, in table order.
func (t gidTable) ndevs() []string {
	var out []string
	for _, e := range t.used {
		if e.Netdev != "" && !contains(out, e.Netdev) {
			out = append(out, e.Netdev)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// portState turns "4: ACTIVE" into "ACTIVE".
func portState(v string) string {
	if _, name, ok := strings.Cut(v, ":"); ok {
		return strings.TrimSpace(name)
	}
	return v
}

// physState turns sysfs's "5: LinkUp" into the rdma tool's "LINK_UP".
func physState(v string) string {
	num, _, _ := strings.Cut(v, ":")
	switch strings.TrimSpace(num) {
	case "1":
		return "SLEEP"
	case "2":
		return "POLLING"
	case "3":
		return "DISABLED"
	case "4":
		return "PORT_CONFIGURATION_TRAINING"
	case "5":
		return "LINK_UP"
	case "6":
		return "LINK_ERROR_RECOVERY"
	case "7":
		return "PHY_TEST"
	}
	return portState(v)
}
