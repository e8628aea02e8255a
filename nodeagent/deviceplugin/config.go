package deviceplugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Defaults of the k8s-rdma-shared-dev-plugin config format.
const (
	DefaultResourcePrefix  = "rdma"
	DefaultRdmaHcaMax      = 1000
	DefaultPeriodicSeconds = 60
	// MaxRdmaHcaMax bounds rdmaHcaMax. Each share is a device ID the kubelet
	// lists, checkpoints and receives in every ListAndWatch message: 10,000
	// per resource keeps those messages far below gRPC's 4 MiB limit and the
	// agent's memory small, and is far above the pods a node can run
	// (kubelet maxPods). Without a bound one edit (2^62) crashed every agent.
	MaxRdmaHcaMax = 10000
)

// Config is config.json.
type Config struct {
	// PeriodicUpdateInterval is the anchor plugin's rescan period in
	// seconds. It is validated and kept for compatibility; railnet re-reads
	// the NICs every Options.HealthInterval (2 s), which is always sooner,
	// so that health changes reach the kubelet within 10 s.
	PeriodicUpdateInterval *int             `json:"periodicUpdateInterval,omitempty"`
	ConfigList             []ResourceConfig `json:"configList"`
}

// ResourceConfig is one kubelet resource.
type ResourceConfig struct {
	ResourcePrefix string    `json:"resourcePrefix,omitempty"`
	ResourceName   string    `json:"resourceName"`
	RdmaHcaMax     *int      `json:"rdmaHcaMax,omitempty"`
	Selectors      Selectors `json:"selectors"`
	// Devices is the deprecated netdev list of old plugin versions; it
	// means the same as selectors.ifNames.
	Devices []string `json:"devices,omitempty"`
}

// Selectors choose NICs: a NIC must match every non-empty list (AND across
// lists) and any entry of each list (OR within a list).
type Selectors struct {
	Vendors   []string `json:"vendors,omitempty"`
	DeviceIDs []string `json:"deviceIDs,omitempty"`
	Drivers   []string `json:"drivers,omitempty"`
	IfNames   []string `json:"ifNames,omitempty"`
	LinkTypes []string `json:"linkTypes,omitempty"`
}

// FullName is prefix/name, the kubelet resource name.
func (r ResourceConfig) FullName() string { return r.ResourcePrefix + "/" + r.ResourceName }

// MaxSlots is rdmaHcaMax with its default applied.
func (r ResourceConfig) MaxSlots() int {
	if r.RdmaHcaMax == nil {
		return DefaultRdmaHcaMax
	}
	return *r.RdmaHcaMax
}

// PeriodicSeconds is periodicUpdateInterval with its default applied.
func (c *Config) PeriodicSeconds() int {
	if c.PeriodicUpdateInterval == nil {
		return DefaultPeriodicSeconds
	}
	return *c.PeriodicUpdateInterval
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$`)
	prefixRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)
	hexIDRE  = regexp.MustCompile(`^(0x)?[0-9a-fA-F]{4}$`)
)

// ParseConfig reads config.json strictly: an unknown key or a bad value is
// an error naming it.
func ParseConfig(data []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("device plugin config: %w", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("device plugin config: unexpected data after the JSON object")
	}
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("device plugin config: %w", err)
	}
	return &c, nil
}

func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown key %s (known: periodicUpdateInterval, configList[]{resourcePrefix, resourceName, rdmaHcaMax, selectors{vendors, deviceIDs, drivers, ifNames, linkTypes}})", msg)
	}
	return err
}

// normalize validates and fills defaults.
func (c *Config) normalize() error {
	if c.PeriodicUpdateInterval != nil && *c.PeriodicUpdateInterval < 0 {
		return fmt.Errorf("periodicUpdateInterval %d: must be 0 or more seconds", *c.PeriodicUpdateInterval)
	}
	if len(c.ConfigList) == 0 {
		return fmt.Errorf("configList is empty: configure at least one resource")
	}
	seen := map[string]int{}
	for i := range c.ConfigList {
		r := &c.ConfigList[i]
		where := fmt.Sprintf("configList[%d]", i)
		if r.ResourceName != "" {
			where += fmt.Sprintf(" (%s)", r.ResourceName)
		}
		if r.ResourcePrefix == "" {
			r.ResourcePrefix = DefaultResourcePrefix
		}
		if !prefixRE.MatchString(r.ResourcePrefix) {
			return fmt.Errorf("%s: resourcePrefix %q is not a DNS subdomain", where, r.ResourcePrefix)
		}
		if r.ResourceName == "" {
			return fmt.Errorf("%s: resourceName is required", where)
		}
		if !nameRE.MatchString(r.ResourceName) || len(r.ResourceName) > 63 {
			return fmt.Errorf("%s: resourceName %q must be at most 63 letters, digits, '-', '_' or '.'", where, r.ResourceName)
		}
		if j, dup := seen[r.FullName()]; dup {
			return fmt.Errorf("%s: resource %s is already configured by configList[%d]", where, r.FullName(), j)
		}
		seen[r.FullName()] = i
		if r.RdmaHcaMax != nil && *r.RdmaHcaMax <= 0 {
			return fmt.Errorf("%s: rdmaHcaMax %d: must be at least 1", where, *r.RdmaHcaMax)
		}
		if r.RdmaHcaMax != nil && *r.RdmaHcaMax > MaxRdmaHcaMax {
			return fmt.Errorf("%s: rdmaHcaMax %d: at most %d shares per resource (each is a device ID the kubelet lists and checkpoints; no node runs that many pods)",
				where, *r.RdmaHcaMax, MaxRdmaHcaMax)
		}
		if len(r.Devices) > 0 {
			r.Selectors.IfNames = append(r.Selectors.IfNames, r.Devices...)
			r.Devices = nil
		}
		s := &r.Selectors
		for k, v := range s.Vendors {
			if !hexIDRE.MatchString(v) {
				return fmt.Errorf("%s: selectors.vendors[%d] %q is not a 4-digit hex PCI vendor ID (e.g. 15b3)", where, k, v)
			}
			s.Vendors[k] = strings.TrimPrefix(strings.ToLower(v), "0x")
		}
		for k, v := range s.DeviceIDs {
			if !hexIDRE.MatchString(v) {
				return fmt.Errorf("%s: selectors.deviceIDs[%d] %q is not a 4-digit hex PCI device ID (e.g. 1017)", where, k, v)
			}
			s.DeviceIDs[k] = strings.TrimPrefix(strings.ToLower(v), "0x")
		}
		for k, v := range s.Drivers {
			if v == "" {
				return fmt.Errorf("%s: selectors.drivers[%d] is empty", where, k)
			}
		}
		for k, v := range s.IfNames {
			if v == "" || len(v) > 15 || strings.ContainsAny(v, "/ ") {
				return fmt.Errorf("%s: selectors.ifNames[%d] %q is not a network interface name", where, k, v)
			}
		}
		for k, v := range s.LinkTypes {
			lt, ok := linkLayerOf(v)
			if !ok {
				return fmt.Errorf("%s: selectors.linkTypes[%d] %q: use ether, ethernet or infiniband", where, k, v)
			}
			s.LinkTypes[k] = lt
		}
	}
	return nil
}

// linkLayerOf maps a linkTypes value to the RDMA port link layer.
func linkLayerOf(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "ether", "ethernet":
		return "Ethernet", true
	case "infiniband":
		return "InfiniBand", true
	}
	return "", false
}
