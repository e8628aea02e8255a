package discovery

import (
	"fmt"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// nodeNetns is a test network namespace holding veth rail NICs.
type nodeNetns struct {
	ns    ns.NetNS
	links Links
	h     *netlink.Handle
}

// newNodeNetns creates a netns with one veth per name (peer "p"+index), all
// up, MTU 9000.
func newNodeNetns(tb testing.TB, names ...string) *nodeNetns {
	tb.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		tb.Fatalf("create netns: %v", err)
	}
	tb.Cleanup(func() {
		_ = n.Close()
		_ = testutils.UnmountNS(n)
	})
	links, err := OpenLinks(n.Path())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(links.Close)
	nn := &nodeNetns{ns: n, links: links, h: links.Handle}
	for i, name := range names {
		peer := fmt.Sprintf("peer%d", i)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: 9000}, PeerName: peer}
		if err := nn.h.LinkAdd(veth); err != nil {
			tb.Fatalf("add veth %s: %v", name, err)
		}
		nn.setUp(tb, peer, true)
		nn.setUp(tb, name, true)
	}
	for _, name := range names {
		nn.waitOperState(tb, name, "up")
	}
	return nn
}

// waitOperState polls until the kernel reports the operstate (link watch
// applies carrier changes asynchronously).
func (nn *nodeNetns) waitOperState(tb testing.TB, name, want string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		state, _, err := linkState(nn.links, name)
		if err != nil {
			tb.Fatal(err)
		}
		if state == want {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: operstate %q, want %q after 10s", name, state, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (nn *nodeNetns) setUp(tb testing.TB, name string, up bool) {
	tb.Helper()
	l, err := nn.h.LinkByName(name)
	if err != nil {
		tb.Fatalf("find %s: %v", name, err)
	}
	if up {
		err = nn.h.LinkSetUp(l)
	} else {
		err = nn.h.LinkSetDown(l)
	}
	if err != nil {
		tb.Fatalf("set %s up=%v: %v", name, up, err)
	}
}

// seedNetdevs are the seed guide's rail NIC names.
func seedNetdevs() []string {
	out := make([]string, 8)
	for i := range out {
		out[i] = fmt.Sprintf("enp%ds0f0np0", 11+i)
	}
	return out
}
