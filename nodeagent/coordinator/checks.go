package coordinator

import (
	"fmt"
	"net"
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

// On reports whether any check runs.
func (c Checks) On() bool { return c.IPConflict || c.Gateway }

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
// namespace with the interface up (they send from it): first that no other
// station holds it (IPv4: an ARP probe; IPv6: the kernel's duplicate address
// detection), then that its gateway answers (ARP; IPv6: a neighbor
// solicitation). A refusal names the interface, the address and the
// gateway, and says what to do. Which probes run is probes' decision and what
// their outcome means is verdict's; Run only sends them.
func (c Checks) Run(ifName string, addrs []Address) error {
	for _, p := range c.probes(ifName, addrs) {
		o, err := p.send()
		if err != nil {
			return err
		}
		if err := p.verdict(o); err != nil {
			return err
		}
	}
	return nil
}

// probeKind is what a probe asks the rail.
type probeKind int

// The probes of the checks.
const (
	// probeConflict4 is an RFC 5227 ARP probe (sender 0.0.0.0) for the address.
	probeConflict4 probeKind = iota
	// probeGateway4 is an ARP request from the address for the gateway.
	probeGateway4
	// probeDAD waits for the kernel's duplicate address detection of the
	// IPv6 address.
	probeDAD
	// probeGateway6 is a neighbor solicitation from the address for the
	// gateway.
	probeGateway6
)

// probe is one probe of the checks, with its bounds.
type probe struct {
	Kind   probeKind
	IfName string
	// IP is the interface's address and Gateway its gateway (refusals name
	// both; invalid when the pool has none).
	IP, Gateway netip.Addr
	// Timeout bounds the probe; Interval is the time between its requests.
	Timeout, Interval time.Duration
}

// outcome is what a probe found: for an ARP or NDP probe whether a station
// answered, and which; for probeDAD whether the kernel found a duplicate.
type outcome struct {
	Found   bool
	Station net.HardwareAddr
}

// probes lists the probes the checks send for the addresses of interface
// ifName, in order: per address, the conflict check, then the gateway
// check (none without a gateway). An IPv6 address always waits for the
// kernel's verdict when any check is on: a duplicate is unusable, and the
// gateway check can only send from an address that has passed detection.
func (c Checks) probes(ifName string, addrs []Address) []probe {
	if !c.IPConflict && !c.Gateway {
		return nil
	}
	var out []probe
	for _, a := range addrs {
		ip := a.IP.Addr()
		p := probe{IfName: ifName, IP: ip, Gateway: a.Gateway}
		if ip.Is4() {
			if c.IPConflict {
				wait := max(c.Timeout/5, 100*time.Millisecond)
				p.Kind, p.Timeout, p.Interval = probeConflict4, wait, wait/3
				out = append(out, p)
			}
			if c.Gateway && a.Gateway.IsValid() {
				p.Kind, p.Timeout, p.Interval = probeGateway4, c.Timeout, c.Timeout/5
				out = append(out, p)
			}
			continue
		}
		p.Kind, p.Timeout, p.Interval = probeDAD, max(c.Timeout, dadWait), 0
		out = append(out, p)
		if c.Gateway && a.Gateway.IsValid() {
			p.Kind, p.Timeout, p.Interval = probeGateway6, c.Timeout, c.Timeout/5
			out = append(out, p)
		}
	}
	return out
}

// verdict is the refusal an outcome of the probe calls for, nil when the
// probe passes.
func (p probe) verdict(o outcome) error {
	switch p.Kind {
	case probeConflict4:
		if o.Found {
			return addressTaken(p.IfName, p.IP, p.Gateway, o.Station.String()+" on the rail")
		}
	case probeGateway4:
		if !o.Found {
			return gatewaySilent(p.IfName, p.Gateway, p.IP, "ARP", p.Timeout)
		}
	case probeDAD:
		if o.Found {
			return addressTaken(p.IfName, p.IP, p.Gateway, "another station on the rail (IPv6 duplicate address detection failed)")
		}
	case probeGateway6:
		if !o.Found {
			return gatewaySilent(p.IfName, p.Gateway, p.IP, "a neighbor solicitation", p.Timeout)
		}
	}
	return nil
}

// send sends the probe out of the interface in the current network
// namespace and waits for its outcome.
func (p probe) send() (outcome, error) {
	var o outcome
	var err error
	switch p.Kind {
	case probeConflict4:
		o.Station, o.Found, err = Probe(p.IfName, netip.IPv4Unspecified(), p.IP, p.Timeout, p.Interval)
		if err != nil {
			err = fmt.Errorf("railnet-coordinator: %s: probe %s for a conflict: %w", p.IfName, p.IP, err)
		}
	case probeGateway4:
		o.Station, o.Found, err = Probe(p.IfName, p.IP, p.Gateway, p.Timeout, p.Interval)
		if err != nil {
			err = fmt.Errorf("railnet-coordinator: %s: probe gateway %s from %s: %w", p.IfName, p.Gateway, p.IP, err)
		}
	case probeDAD:
		o.Found, err = WaitDAD(p.IfName, p.IP, p.Timeout)
		if err != nil {
			err = fmt.Errorf("railnet-coordinator: %s: %w", p.IfName, err)
		}
	case probeGateway6:
		o.Station, o.Found, err = Solicit(p.IfName, p.IP, p.Gateway, p.Timeout, p.Interval)
		if err != nil {
			err = fmt.Errorf("railnet-coordinator: %s: solicit gateway %s from %s: %w", p.IfName, p.Gateway, p.IP, err)
		}
	}
	return o, err
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
