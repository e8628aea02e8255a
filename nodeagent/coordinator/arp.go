package coordinator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// ARP wire format for Ethernet + IPv4 (RFC 826), as a packet socket of type
// SOCK_DGRAM sees it: without the link header.
const (
	arpLen     = 28
	arpRequest = 1
	arpReply   = 2
)

// arpPacket is one ARP message.
type arpPacket struct {
	Op       uint16
	SenderHW net.HardwareAddr
	SenderIP netip.Addr
	TargetHW net.HardwareAddr
	TargetIP netip.Addr
}

func (p arpPacket) marshal() []byte {
	b := make([]byte, arpLen)
	binary.BigEndian.PutUint16(b[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800) // IPv4
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], p.Op)
	copy(b[8:14], p.SenderHW)
	s := p.SenderIP.As4()
	copy(b[14:18], s[:])
	copy(b[18:24], p.TargetHW)
	t := p.TargetIP.As4()
	copy(b[24:28], t[:])
	return b
}

func parseARP(b []byte) (arpPacket, bool) {
	if len(b) < arpLen || binary.BigEndian.Uint16(b[0:]) != 1 || binary.BigEndian.Uint16(b[2:]) != 0x0800 || b[4] != 6 || b[5] != 4 {
		return arpPacket{}, false
	}
	return arpPacket{
		Op:       binary.BigEndian.Uint16(b[6:]),
		SenderHW: net.HardwareAddr(bytes.Clone(b[8:14])),
		SenderIP: netip.AddrFrom4([4]byte(b[14:18])),
		TargetHW: net.HardwareAddr(bytes.Clone(b[18:24])),
		TargetIP: netip.AddrFrom4([4]byte(b[24:28])),
	}, true
}

// answers reports whether p, received on an interface with hardware address
// own, shows that target is held by another station: a reply from target,
// or (address conflict probing) another station probing or announcing it.
func answers(p arpPacket, target netip.Addr, own net.HardwareAddr) bool {
	if bytes.Equal(p.SenderHW, own) {
		return false
	}
	return p.SenderIP == target && (p.Op == arpReply || p.Op == arpRequest)
}

// Probe sends ARP requests for target out of interface ifName (in the
// current network namespace) every interval until a station answers or
// timeout passes, and returns the answering station's hardware address. src
// is the sender address of the requests: the unspecified address makes an
// RFC 5227 conflict probe, the interface's own address a reachability check.
// found is false when nobody answered in time.
func Probe(ifName string, src, target netip.Addr, timeout, interval time.Duration) (hw net.HardwareAddr, found bool, err error) {
	if !target.Is4() || !src.Is4() {
		return nil, false, fmt.Errorf("ARP probes IPv4 only, not %s from %s", target, src)
	}
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return nil, false, fmt.Errorf("find interface %s: %w", ifName, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return nil, false, fmt.Errorf("open ARP socket on %s: %w", ifName, err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index}); err != nil {
		return nil, false, fmt.Errorf("bind ARP socket to %s: %w", ifName, err)
	}
	bcast := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6,
		Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	req := arpPacket{Op: arpRequest, SenderHW: ifi.HardwareAddr, SenderIP: src,
		TargetHW: make(net.HardwareAddr, 6), TargetIP: target}.marshal()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 256)
	for next := time.Now(); time.Now().Before(deadline); {
		if !time.Now().Before(next) {
			if err := unix.Sendto(fd, req, 0, bcast); err != nil {
				return nil, false, fmt.Errorf("send ARP request for %s on %s: %w", target, ifName, err)
			}
			next = time.Now().Add(interval)
		}
		wait := min(time.Until(next), time.Until(deadline))
		if wait <= 0 {
			continue
		}
		ms := int(wait / time.Millisecond)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, max(ms, 1))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("wait for ARP on %s: %w", ifName, err)
		}
		if n == 0 {
			continue
		}
		for {
			m, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				break
			}
			if err != nil {
				return nil, false, fmt.Errorf("read ARP on %s: %w", ifName, err)
			}
			if p, ok := parseARP(buf[:m]); ok && answers(p, target, ifi.HardwareAddr) {
				return p.SenderHW, true, nil
			}
		}
	}
	return nil, false, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
