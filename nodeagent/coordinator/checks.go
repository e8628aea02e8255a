package coordinator

import (
	"fmt"
	"net/netip"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/railnet/railnet/api/cniconf"
)

// Checks says which checks run before an interface is handed to the pod.
type Checks struct {
	IPConflict, Gateway bool
	// Timeout bounds each gateway probe; the conflict probe takes a fifth.
	Timeout time.Duration
}

// ChecksOf reads the checks of a network's coordinator options: both on
// unless switched off, probeTimeout 1s unless set.
func ChecksOf(o cniconf.CoordinatorOptions) (Checks, error) {
	c := Checks{IPConflict: cniconf.On(o.DetectIPConflict), Gateway: cniconf.On(o.DetectGateway), Timeout: time.Second}
	if o.ProbeTimeout != "" {
		t, err := time.ParseDuration(o.ProbeTimeout)
		if err != nil || t <= 0 {
			return Checks{}, fmt.Errorf("railnet-coordinator: probeTimeout %q is not a positive duration like 500ms", o.ProbeTimeout)
		}
		c.Timeout = t
	}
	return c, nil
}

// FromResult reads what the previous plugins' result gives interface
// ifName: its addresses (the IPs on ifName or with no interface index) and
// all routes, which the main plugin installed through this interface — the
// input of Plan and of Checks.Run.
func FromResult(ifName string, prev *current.Result) ([]Address, []Route, error) {
	if prev == nil {
		return nil, nil, fmt.Errorf("railnet-coordinator: %s: no prevResult; chain it after the main plugin and its IPAM", ifName)
	}
	var addrs []Address
	for _, ipc := range prev.IPs {
		if ipc.Interface != nil && *ipc.Interface >= 0 && *ipc.Interface < len(prev.Interfaces) &&
			prev.Interfaces[*ipc.Interface].Name != ifName {
			continue
		}
		a := Address{IP: prefixOf(&ipc.Address)}
		if gw, ok := netip.AddrFromSlice(ipc.Gateway); ok {
			a.Gateway = gw.Unmap()
		}
		addrs = append(addrs, a)
	}
	var extra []Route
	for _, r := range prev.Routes {
		rt := Route{Dst: prefixOf(&r.Dst)}
		if gw, ok := netip.AddrFromSlice(r.GW); ok {
			rt.Gw = gw.Unmap()
		}
		extra = append(extra, rt)
	}
	return addrs, extra, nil
}

// dadWait bounds the wait for the kernel's IPv6 duplicate address detection
// (the CNI plugins' own settle bound).
const dadWait = 5 * time.Second

// Run runs the checks of each address of interface ifName, in the pod's
// namespace with the interface up (they send from it): first that no other station holds it
// (IPv4: an ARP probe; IPv6: the kernel's duplicate address detection), then
// that its gateway answers (ARP; IPv6: a neighbor solicitation). A refusal
// names the interface, the address and the gateway, and says what to do.
func (c Checks) Run(ifName string, addrs []Address) error {
	if !c.IPConflict && !c.Gateway {
		return nil
	}
	for _, a := range addrs {
		var err error
		if a.IP.Addr().Is4() {
			err = c.run4(ifName, a.IP.Addr(), a.Gateway)
		} else {
			err = c.run6(ifName, a.IP.Addr(), a.Gateway)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c Checks) run4(ifName string, ip, gw netip.Addr) error {
	if c.IPConflict {
		conflictWait := max(c.Timeout/5, 100*time.Millisecond)
		hw, found, err := Probe(ifName, netip.IPv4Unspecified(), ip, conflictWait, conflictWait/3)
		if err != nil {
			return fmt.Errorf("railnet-coordinator: %s: probe %s for a conflict: %w", ifName, ip, err)
		}
		if found {
			return addressTaken(ifName, ip, gw, hw.String()+" on the rail")
		}
	}
	if c.Gateway && gw.IsValid() {
		_, found, err := Probe(ifName, ip, gw, c.Timeout, c.Timeout/5)
		if err != nil {
			return fmt.Errorf("railnet-coordinator: %s: probe gateway %s from %s: %w", ifName, gw, ip, err)
		}
		if !found {
			return gatewaySilent(ifName, gw, ip, "ARP", c.Timeout)
		}
	}
	return nil
}

// run6 waits for the kernel's verdict on the address in any case: a
// duplicate is unusable, and the gateway check can only send from an
// address that has passed detection.
func (c Checks) run6(ifName string, ip, gw netip.Addr) error {
	conflict, err := WaitDAD(ifName, ip, max(c.Timeout, dadWait))
	if err != nil {
		return fmt.Errorf("railnet-coordinator: %s: %w", ifName, err)
	}
	if conflict {
		return addressTaken(ifName, ip, gw, "another station on the rail (IPv6 duplicate address detection failed)")
	}
	if c.Gateway && gw.IsValid() {
		_, found, err := Solicit(ifName, ip, gw, c.Timeout, c.Timeout/5)
		if err != nil {
			return fmt.Errorf("railnet-coordinator: %s: solicit gateway %s from %s: %w", ifName, gw, ip, err)
		}
		if !found {
			return gatewaySilent(ifName, gw, ip, "a neighbor solicitation", c.Timeout)
		}
	}
	return nil
}

// addressTaken is the refusal of an interface whose address holder holds.
func addressTaken(ifName string, ip, gw netip.Addr, holder string) error {
	return fmt.Errorf("railnet-coordinator: %s: address %s (gateway %s) is already used by %s; "+
		"the address was released: remove it from that host or add it to the SpiderIPPool's excludeIPs",
		ifName, ip, gwString(gw), holder)
}

// gatewaySilent is the refusal of an interface whose gateway did not answer
// probe.
func gatewaySilent(ifName string, gw, ip netip.Addr, probe string, timeout time.Duration) error {
	return fmt.Errorf("railnet-coordinator: %s: gateway %s did not answer %s from %s within %s; "+
		"the address was released: check the rail's cabling/VLAN and the SpiderIPPool's gateway, "+
		"or set coordinator.detectGateway=false", ifName, gw, probe, ip, timeout)
}

func gwString(gw netip.Addr) string {
	if !gw.IsValid() {
		return "none"
	}
	return gw.Unmap().String()
}
