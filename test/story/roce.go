package story

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/nccl"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/simnode"
)

// copyTree copies the fixture tree src to dst: folders, files and
// (relative) symlinks as they are, so each node's agent reads a sysfs tree
// of its own that RoCEKernel can change.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o644)
		}
	})
}

// RoCEKernel stands in for what the kernel does on a RoCE port when a
// macvlan on its NIC gets an IPv4 address: it adds the address's RoCE v1 and
// v2 GIDs (::ffff:a.b.c.d) at the lowest free indices of the port's GID
// table, and frees them when the address goes. The fixture nodes have no
// RDMA hardware, so it watches the IPAllocations (the address is allocated
// just before the interface gets it) and writes each node's own fixture
// sysfs tree, where railnet's agent waits for the GIDs as on a real node.
type RoCEKernel struct {
	mu    sync.Mutex
	given map[string][2]int // pod UID/interface → v1, v2 index
	where map[string]string // same key → port folder
}

// StartRoCEKernel runs the stand-in until the test ends.
func (e *Env) StartRoCEKernel(ctx context.Context, tb ground.TB) *RoCEKernel {
	k := &RoCEKernel{given: map[string][2]int{}, where: map[string]string{}}
	roots := map[string]string{}
	for _, n := range e.Nodes {
		roots[n.Real.Name] = n.SysfsRoot
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	tb.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var list railnetv1.IPAllocationList
			if err := e.Cluster.Client.List(ctx, &list); err == nil {
				if err := k.sync(list.Items, roots); err != nil {
					tb.Errorf("RoCE GID stand-in: %v", err)
					return
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return k
}

// Index returns the RoCE v2 GID index given to the pod's interface.
func (k *RoCEKernel) Index(podUID, ifName string) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.given[podUID+"/"+ifName]
	return g[1], ok
}

func (k *RoCEKernel) sync(allocs []railnetv1.IPAllocation, roots map[string]string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	live := map[string]bool{}
	rails := simnode.SeedRails()
	for _, a := range allocs {
		key := a.Spec.PodUID + "/" + a.Spec.Interface
		live[key] = true
		root, ok := roots[a.Spec.Node]
		ip, err := netip.ParseAddr(a.Spec.IP)
		n, _ := strconv.Atoi(strings.TrimPrefix(a.Spec.Interface, "net"))
		if _, done := k.given[key]; done || !ok || err != nil || !ip.Is4() || n < 1 || n > len(rails) {
			continue
		}
		p, ok := nccl.SysfsPort(root, rails[n-1].Master)
		if !ok {
			return fmt.Errorf("no RDMA port for %s in %s", rails[n-1].Master, root)
		}
		dir := filepath.Join(root, "sys/class/infiniband", p.HCA, "ports", strconv.Itoa(p.Port))
		t, err := nccl.ReadPort(root, p.HCA, p.Port)
		if err != nil {
			return err
		}
		var free []int
		for i := range t {
			if !t[i].Valid() {
				free = append(free, i)
			}
			if len(free) == 2 {
				break
			}
		}
		if len(free) < 2 {
			return fmt.Errorf("GID table of %s port %d is full", p.HCA, p.Port)
		}
		gid := gidText(ip)
		for j, typ := range []string{nccl.TypeRoCEv1, nccl.TypeRoCEv2} {
			if err := writeGID(dir, free[j], gid, typ, a.Spec.Interface); err != nil {
				return err
			}
		}
		k.given[key], k.where[key] = [2]int{free[0], free[1]}, dir
	}
	for key, g := range k.given {
		if live[key] {
			continue
		}
		for _, i := range g {
			if err := writeGID(k.where[key], i, "0000:0000:0000:0000:0000:0000:0000:0000", "", ""); err != nil {
				return err
			}
		}
		delete(k.given, key)
		delete(k.where, key)
	}
	return nil
}

func gidText(ip netip.Addr) string {
	b := netip.AddrFrom16(ip.As16()).As16()
	parts := make([]string, 8)
	for j := range parts {
		parts[j] = fmt.Sprintf("%02x%02x", b[2*j], b[2*j+1])
	}
	return strings.Join(parts, ":")
}

// writeGID sets slot i of the port at dir: its type and netdev first, then
// the GID (each file replaced whole), so a reader never sees a GID without
// its type; an empty type frees the slot.
func writeGID(dir string, i int, gid, typ, ndev string) error {
	idx := strconv.Itoa(i)
	put := func(rel, v string) error {
		p := filepath.Join(dir, rel, idx)
		if v == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
			return nil
		}
		if err := os.WriteFile(p+".tmp", []byte(v+"\n"), 0o644); err != nil {
			return err
		}
		return os.Rename(p+".tmp", p)
	}
	if typ == "" {
		if err := put("gids", gid); err != nil {
			return err
		}
	}
	if err := put("gid_attrs/types", typ); err != nil {
		return err
	}
	if err := put("gid_attrs/ndevs", ndev); err != nil {
		return err
	}
	if typ != "" {
		return put("gids", gid)
	}
	return nil
}

// HostAddress adds ip's RoCE v1 and v2 GIDs on the port of NIC master in
// the sysfs tree root, at the lowest free slots, as the kernel does when the
// host gives the NIC itself an address; the returned func removes them.
// Pods' addresses added afterwards land above them on this port only.
func (k *RoCEKernel) HostAddress(root, master string, ip netip.Addr) (func() error, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := nccl.SysfsPort(root, master)
	if !ok {
		return nil, fmt.Errorf("no RDMA port for %s in %s", master, root)
	}
	t, err := nccl.ReadPort(root, p.HCA, p.Port)
	if err != nil {
		return nil, err
	}
	var free []int
	for i := range t {
		if !t[i].Valid() && len(free) < 2 {
			free = append(free, i)
		}
	}
	if len(free) < 2 {
		return nil, fmt.Errorf("GID table of %s port %d is full", p.HCA, p.Port)
	}
	dir := filepath.Join(root, "sys/class/infiniband", p.HCA, "ports", strconv.Itoa(p.Port))
	for j, typ := range []string{nccl.TypeRoCEv1, nccl.TypeRoCEv2} {
		if err := writeGID(dir, free[j], gidText(ip), typ, master); err != nil {
			return nil, err
		}
	}
	return func() error {
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, i := range free {
			if err := writeGID(dir, i, "0000:0000:0000:0000:0000:0000:0000:0000", "", ""); err != nil {
				return err
			}
		}
		return nil
	}, nil
}
