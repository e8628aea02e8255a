package discovery

import (
	"testing"

	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
)

type nodeNetns struct {
	*discoverytest.Netns
	links Links
}

func newNodeNetns(tb testing.TB, names ...string) *nodeNetns {
	n := discoverytest.NewNetns(tb, names...)
	return &nodeNetns{Netns: n, links: n.Handle}
}

func (nn *nodeNetns) setUp(tb testing.TB, name string, up bool) { nn.SetUp(tb, name, up) }
func (nn *nodeNetns) waitOperState(tb testing.TB, name, want string) {
	nn.WaitOperState(tb, name, want)
}

func fixture(name string) string { return discoverytest.Fixture(name) }
