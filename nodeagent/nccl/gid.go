package nccl

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RoCE versions as gid_attrs/types names them.
const (
	TypeRoCEv1 = "IB/RoCE v1"
	TypeRoCEv2 = "RoCE v2"
)

// GID is one entry of a port's GID table.
type GID struct {
	// Addr is the 16-byte GID; the zero address for an empty slot.
	Addr netip.Addr
	// Type is gid_attrs/types/N; empty when unreadable (the kernel answers
	// EINVAL for slots not mapped into a container's sysfs).
	Type string
	// Ndev is the netdev the GID belongs to (gid_attrs/ndevs/N).
	Ndev string
}

// Table is a port's GID table, indexed by GID index.
type Table []GID

// Valid reports whether the slot holds a GID (NCCL's validGid: not all zero).
func (g GID) Valid() bool { return g.Addr.IsValid() && g.Addr != netip.IPv6Unspecified() }

// Family is 4 for an IPv4-mapped GID (::ffff:a.b.c.d, or its multicast
// form ff0e::ffff:a.b.c.d), else 6 — NCCL's getGidAddrFamily.
func (g GID) Family() int {
	if !g.Addr.IsValid() {
		return 6
	}
	b := g.Addr.As16()
	mapped := [12]byte{10: 0xff, 11: 0xff}
	mcast := [12]byte{0: 0xff, 1: 0x0e, 10: 0xff, 11: 0xff}
	if [12]byte(b[:12]) == mapped || [12]byte(b[:12]) == mcast {
		return 4
	}
	return 6
}

// IP is the address the GID stands for: the IPv4 address of a mapped GID,
// else the IPv6 address.
func (g GID) IP() netip.Addr {
	if g.Family() == 4 {
		b := g.Addr.As16()
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return g.Addr
}

// ReadPort reads the GID table of port of HCA hca under sysfsRoot ("/" on a
// real node). The table is as long as the highest index present.
func ReadPort(sysfsRoot, hca string, port int) (Table, error) {
	dir := filepath.Join(sysfsRoot, "sys/class/infiniband", hca, "ports", strconv.Itoa(port))
	entries, err := os.ReadDir(filepath.Join(dir, "gids"))
	if err != nil {
		return nil, fmt.Errorf("GID table of %s port %d: %w", hca, port, err)
	}
	n := 0
	for _, e := range entries {
		if i, err := strconv.Atoi(e.Name()); err == nil && i+1 > n {
			n = i + 1
		}
	}
	t := make(Table, n)
	for i := range t {
		idx := strconv.Itoa(i)
		raw, err := os.ReadFile(filepath.Join(dir, "gids", idx))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("GID %d of %s port %d: %w", i, hca, port, err)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(string(raw)))
		if err != nil {
			return nil, fmt.Errorf("GID %d of %s port %d: %w", i, hca, port, err)
		}
		t[i].Addr = a
		// An unreadable type (EINVAL in a container) stays empty, as NCCL
		// then skips the slot.
		if b, err := os.ReadFile(filepath.Join(dir, "gid_attrs/types", idx)); err == nil {
			t[i].Type = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "gid_attrs/ndevs", idx)); err == nil {
			t[i].Ndev = strings.TrimSpace(string(b))
		}
	}
	return t, nil
}

// roceVersion is NCCL's ncclIbRoceGetVersionNum: 1, 2, or 0 when the type is
// unreadable or unknown.
func roceVersion(typ string) int {
	switch {
	case strings.HasPrefix(typ, TypeRoCEv1):
		return 1
	case strings.HasPrefix(typ, TypeRoCEv2):
		return 2
	}
	return 0
}

// Own returns the index of ip's RoCE v2 GID in t (the lowest, should the
// kernel list it twice).
func Own(t Table, ip netip.Addr) (int, bool) {
	ip = ip.Unmap()
	for i, g := range t {
		if g.Valid() && roceVersion(g.Type) == 2 && g.IP() == ip {
			return i, true
		}
	}
	return 0, false
}

// SysfsPort finds the RDMA port of NIC master under sysfsRoot: its PCI
// device's RDMA device (class/net/<master>/device/infiniband/<hca>) and, of
// that device's ports, the one whose GIDs name master (port 1 when none
// does yet, as on a RoCE PF).
func SysfsPort(sysfsRoot, master string) (Port, bool) {
	if master == "" || strings.ContainsAny(master, "/") || master == "." || master == ".." {
		return Port{}, false
	}
	hcas, err := os.ReadDir(filepath.Join(sysfsRoot, "sys/class/net", master, "device/infiniband"))
	if err != nil || len(hcas) == 0 {
		return Port{}, false
	}
	hca := hcas[0].Name()
	portsDir := filepath.Join(sysfsRoot, "sys/class/infiniband", hca, "ports")
	ports, _ := os.ReadDir(portsDir)
	for _, p := range ports {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		ndevs, _ := os.ReadDir(filepath.Join(portsDir, p.Name(), "gid_attrs/ndevs"))
		for _, e := range ndevs {
			if b, err := os.ReadFile(filepath.Join(portsDir, p.Name(), "gid_attrs/ndevs", e.Name())); err == nil && strings.TrimSpace(string(b)) == master {
				return Port{HCA: hca, Port: n}, true
			}
		}
	}
	return Port{HCA: hca, Port: 1}, true
}
