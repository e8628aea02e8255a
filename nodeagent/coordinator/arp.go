package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// answers reports whether p, received on an interface with hardware address
// own, shows that target is held by another station: a reply from target,
// or (address conflict probing) another station probing or announcing it.
func answers(p *arp.Packet, target netip.Addr, own net.HardwareAddr) bool {
	if bytes.Equal(p.SenderHardwareAddr, own) {
		return false
	}
	return p.SenderIP == target && (p.Operation == arp.OperationReply || p.Operation == arp.OperationRequest)
}

// Probe sends ARP requests for target out of interface ifName (in the
// current network namespace) every interval until a station answers or
// timeout passes, and returns the answering station's hardware address. src
// is the sender address of the requests: the unspecified address makes an
// RFC 5227 conflict probe, the interface's own address a reachability check.
// found is false when nobody answered in time. The interface must hold an
// IPv4 address (github.com/mdlayher/arp's client needs one; the main plugin
// has put the pod's there).
func Probe(ifName string, src, target netip.Addr, timeout, interval time.Duration) (hw net.HardwareAddr, found bool, err error) {
	if !target.Is4() || !src.Is4() {
		return nil, false, fmt.Errorf("ARP probes IPv4 only, not %s from %s", target, src)
	}
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return nil, false, fmt.Errorf("find interface %s: %w", ifName, err)
	}
	c, err := arp.Dial(ifi)
	if err != nil {
		return nil, false, fmt.Errorf("open ARP socket on %s: %w", ifName, err)
	}
	defer c.Close()
	// RFC 5227: a probe's target hardware address is zero.
	req, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, src, make(net.HardwareAddr, len(ifi.HardwareAddr)), target)
	if err != nil {
		return nil, false, fmt.Errorf("ARP request for %s from %s on %s: %w", target, src, ifName, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := c.WriteTo(req, ethernet.Broadcast); err != nil {
			return nil, false, fmt.Errorf("send ARP request for %s on %s: %w", target, ifName, err)
		}
		next := time.Now().Add(interval)
		if next.After(deadline) {
			next = deadline
		}
		if err := c.SetReadDeadline(next); err != nil {
			return nil, false, err
		}
		for {
			p, _, err := c.Read()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return nil, false, fmt.Errorf("read ARP on %s: %w", ifName, err)
			}
			if answers(p, target, ifi.HardwareAddr) {
				return p.SenderHardwareAddr, true, nil
			}
		}
	}
	return nil, false, nil
}
