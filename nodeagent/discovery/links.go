package discovery

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Links looks netdevs up by name; netlinksafe.Handle implements it and
// retries dumps the kernel interrupted.
type Links interface {
	LinkByName(name string) (netlink.Link, error)
}

// Link states reported for a netdev besides the kernel's operstates.
const (
	LinkStateAbsent = "absent" // the netdev is in sysfs but not in the netns
)

// OpenLinks returns a netlink handle in the network namespace at nsPath
// ("" for the agent's own). Close it when done.
func OpenLinks(nsPath string) (netlinksafe.Handle, error) {
	if nsPath == "" {
		h, err := netlinksafe.NewHandle()
		if err != nil {
			return netlinksafe.Handle{}, fmt.Errorf("open netlink: %w", err)
		}
		return h, nil
	}
	nsh, err := netns.GetFromPath(nsPath)
	if err != nil {
		return netlinksafe.Handle{}, fmt.Errorf("open netns %q: %w", nsPath, err)
	}
	defer nsh.Close()
	h, err := netlinksafe.NewHandleAt(nsh)
	if err != nil {
		return netlinksafe.Handle{}, fmt.Errorf("open netlink in netns %q: %w", nsPath, err)
	}
	return h, nil
}

// linkState returns the netdev's operstate ("up", "down", ...) and MTU, or
// LinkStateAbsent when the netdev does not exist.
func linkState(l Links, name string) (string, int32, error) {
	link, err := l.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return LinkStateAbsent, 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("netlink lookup of %s: %w", name, err)
	}
	a := link.Attrs()
	return a.OperState.String(), int32(a.MTU), nil
}
