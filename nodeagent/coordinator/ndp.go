package coordinator

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/mdlayher/ndp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// IPv6 has no ARP: a conflict is what the kernel's duplicate address
// detection (RFC 4862) finds when the address comes up, and a gateway is
// reachable when it answers a Neighbor Solicitation (RFC 4861).

// WaitDAD waits until the kernel's duplicate address detection of ip on
// interface ifName (in the current network namespace) has ended, at most
// timeout, and reports whether another station holds ip. An address the
// kernel does not check (accept_dad 0, nodad) is never tentative: no
// conflict.
func WaitDAD(ifName string, ip netip.Addr, timeout time.Duration) (conflict bool, err error) {
	if !ip.Is6() || ip.Is4In6() {
		return false, fmt.Errorf("duplicate address detection is IPv6 only, not %s", ip)
	}
	link, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return false, fmt.Errorf("find interface %s: %w", ifName, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return false, fmt.Errorf("list addresses of %s: %w", ifName, err)
		}
		var flags int
		found := false
		for _, a := range addrs {
			if got, ok := netip.AddrFromSlice(a.IP); ok && got == ip {
				flags, found = a.Flags, true
			}
		}
		switch {
		case !found:
			return false, fmt.Errorf("address %s is not on %s", ip, ifName)
		case flags&unix.IFA_F_DADFAILED != 0:
			return true, nil
		case flags&unix.IFA_F_TENTATIVE == 0:
			return false, nil
		case time.Now().After(deadline):
			return false, fmt.Errorf("address %s on %s is still tentative after %s (duplicate address detection not finished)", ip, ifName, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Solicit sends Neighbor Solicitations for target from src out of
// interface ifName (in the current network namespace) every interval until
// target answers with a Neighbor Advertisement or timeout passes, and
// returns the answering station's link-layer address. src must be an address
// of the interface that has passed duplicate address detection. found is
// false when nobody answered in time.
func Solicit(ifName string, src, target netip.Addr, timeout, interval time.Duration) (hw net.HardwareAddr, found bool, err error) {
	if !target.Is6() || target.Is4In6() || !src.Is6() {
		return nil, false, fmt.Errorf("neighbor solicitation is IPv6 only, not %s from %s", target, src)
	}
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return nil, false, fmt.Errorf("find interface %s: %w", ifName, err)
	}
	c, _, err := ndp.Listen(ifi, ndp.Addr(src.String()))
	if err != nil {
		return nil, false, fmt.Errorf("open an NDP socket on %s from %s: %w", ifName, src, err)
	}
	defer c.Close()
	group, err := ndp.SolicitedNodeMulticast(target)
	if err != nil {
		return nil, false, err
	}
	ns := &ndp.NeighborSolicitation{TargetAddress: target, Options: []ndp.Option{
		&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr},
	}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := c.WriteTo(ns, nil, group); err != nil {
			return nil, false, fmt.Errorf("send a neighbor solicitation for %s on %s: %w", target, ifName, err)
		}
		next := time.Now().Add(interval)
		if next.After(deadline) {
			next = deadline
		}
		for {
			if err := c.SetReadDeadline(next); err != nil {
				return nil, false, err
			}
			msg, _, _, err := c.ReadFrom()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, false, fmt.Errorf("read NDP on %s: %w", ifName, err)
			}
			na, ok := msg.(*ndp.NeighborAdvertisement)
			if !ok || na.TargetAddress != target {
				continue
			}
			for _, o := range na.Options {
				if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == ndp.Target {
					return lla.Addr, true, nil
				}
			}
			// No target link-layer option (allowed in a solicited
			// reply): the advertisement itself proves the neighbour.
			return nil, true, nil
		}
	}
	return nil, false, nil
}
