package discoverytest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/railnet/railnet/test/poll"
)

// Fixture returns the path of a sysfs fixture tree: rail8 (8 ConnectX NICs
// mlx5_0..7 / enp11s0f0np0..enp18s0f0np0 each sharing a PCIe switch with a
// GPU), downport (rail8 with mlx5_3's port DOWN) or nordma (GPUs, no RDMA).
func Fixture(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sysfs", name)
}

// CopyFixture copies a fixture tree (symlinks kept) into a temporary folder
// that the test may change.
func CopyFixture(tb testing.TB, name string) string {
	tb.Helper()
	src := Fixture(name)
	dst := filepath.Join(tb.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, 0o644)
		}
	})
	if err != nil {
		tb.Fatalf("copy fixture %s: %v", name, err)
	}
	return dst
}

// SeedNetdevs are the seed guide's rail NIC names, rail 0 to 7.
func SeedNetdevs() []string {
	out := make([]string, 8)
	for i := range out {
		out[i] = fmt.Sprintf("enp%ds0f0np0", 11+i)
	}
	return out
}

// Netns is a test network namespace holding veth rail NICs.
type Netns struct {
	NS     ns.NetNS
	Handle netlinksafe.Handle
}

// NewNetns creates a netns with one veth per name (peer "peerN"), all up
// with MTU 9000, and waits until the kernel reports them up.
func NewNetns(tb testing.TB, names ...string) *Netns {
	tb.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		tb.Fatalf("create netns: %v", err)
	}
	tb.Cleanup(func() {
		_ = n.Close()
		_ = testutils.UnmountNS(n)
	})
	nsh, err := netns.GetFromPath(n.Path())
	if err != nil {
		tb.Fatal(err)
	}
	h, err := netlinksafe.NewHandleAt(nsh)
	nsh.Close()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	nn := &Netns{NS: n, Handle: h}
	for i, name := range names {
		peer := fmt.Sprintf("peer%d", i)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: 9000}, PeerName: peer}
		if err := h.LinkAdd(veth); err != nil {
			tb.Fatalf("add veth %s: %v", name, err)
		}
		nn.SetUp(tb, peer, true)
		nn.SetUp(tb, name, true)
	}
	for _, name := range names {
		nn.WaitOperState(tb, name, "up")
	}
	return nn
}

// SetUp sets a link administratively up or down.
func (nn *Netns) SetUp(tb testing.TB, name string, up bool) {
	tb.Helper()
	l, err := nn.Handle.LinkByName(name)
	if err != nil {
		tb.Fatalf("find %s: %v", name, err)
	}
	if up {
		err = nn.Handle.LinkSetUp(l)
	} else {
		err = nn.Handle.LinkSetDown(l)
	}
	if err != nil {
		tb.Fatalf("set %s up=%v: %v", name, up, err)
	}
}

// WaitOperState polls until the kernel reports the operstate (link watch
// applies carrier changes asynchronously), failing after 10 s.
func (nn *Netns) WaitOperState(tb testing.TB, name, want string) {
	tb.Helper()
	poll.Until(tb, 10*time.Second, name+" operstate "+want, func() error {
		l, err := nn.Handle.LinkByName(name)
		if err != nil {
			return poll.Final(err)
		}
		if state := l.Attrs().OperState.String(); state != want {
			return fmt.Errorf("operstate %q", state)
		}
		return nil
	})
}
