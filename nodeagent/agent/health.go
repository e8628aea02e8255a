package agent

import (
	"fmt"
	"strings"
	"time"
)

// HealthInputs is what the agent's health is judged from.
type HealthInputs struct {
	Now time.Time
	// Started is when the agent started; LastDiscovery when the node was
	// last read successfully; DiscoveryInterval how often it should be.
	Started, LastDiscovery time.Time
	DiscoveryInterval      time.Duration
	// Unregistered lists device plugin resources the kubelet has not
	// registered (nil without a device plugin).
	Unregistered []string
	// ConfigError is the device plugin config's last reload error.
	ConfigError error
	// IPAMSocket is the IPAM service's socket ("" without IPAM) and
	// IPAMSocketErr the error of looking it up.
	IPAMSocket    string
	IPAMSocketErr error
}

// registrationGrace is how long resources may stay unregistered (the
// kubelet starting, a kubelet restart) before the agent counts as unhealthy.
const registrationGrace = time.Minute

// Health returns the problems a restart of the agent would fix (nil when
// there are none) and the warnings it would not: an invalid device plugin
// config keeps the last good config in force, and a restart would only lose
// that, so it is a warning, not a failure.
func Health(in HealthInputs) (problems, warnings []string) {
	stale := 5*in.DiscoveryInterval + 10*time.Second
	if since := in.Now.Sub(in.LastDiscovery); since > stale {
		problems = append(problems, fmt.Sprintf("node discovery last succeeded %s ago (every %s expected)", since.Round(time.Second), in.DiscoveryInterval))
	}
	if len(in.Unregistered) > 0 && in.Now.Sub(in.Started) > registrationGrace {
		problems = append(problems, fmt.Sprintf("device plugin resources not registered with the kubelet: %s", strings.Join(in.Unregistered, ", ")))
	}
	if in.IPAMSocket != "" && in.IPAMSocketErr != nil {
		problems = append(problems, fmt.Sprintf("IPAM socket %s: %v", in.IPAMSocket, in.IPAMSocketErr))
	}
	if in.ConfigError != nil {
		warnings = append(warnings, "device plugin config refused (see the RDMANode's ConfigValid condition): "+in.ConfigError.Error())
	}
	return problems, warnings
}
