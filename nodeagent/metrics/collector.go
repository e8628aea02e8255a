package metrics

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/Mellanox/rdmamap"
	"github.com/prometheus/client_golang/prometheus"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Sources are what the collector reads at scrape time.
type Sources struct {
	// NICs returns the last discovered NICs.
	NICs func() []railnetv1.NIC
	// Counters reads an RDMA device's per-port counters from sysfs.
	Counters func(rdmaDevice string) (rdmamap.RdmaStats, error)
	// Resources returns the device plugin's resources; nil when the
	// device plugin is off.
	Resources func() []Resource
}

// Resource is one device plugin resource as the metrics see it.
type Resource struct {
	Name       string
	Devices    int
	Healthy    bool
	Registered bool
	// Down are the matched NICs whose link or RDMA port is down.
	Down []string
}

var nicLabels = []string{"node", "rail", "netdev", "rdma_device"}

// Collector implements prometheus.Collector.
type Collector struct {
	node string
	src  Sources

	linkUp, portActive, gidSize, gidUsed, mtu, speed *prometheus.Desc
	dpDevices, dpRegistered, dpNICDown, scrapeErrors *prometheus.Desc

	mu       sync.Mutex
	counters map[string]*prometheus.Desc // by metric name
}

// New returns a collector for node.
func New(node string, src Sources) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, prometheus.Labels{"node": node})
	}
	nl := nicLabels[1:] // node is a constant label
	return &Collector{
		node: node, src: src, counters: map[string]*prometheus.Desc{},
		linkUp:       d("railnet_nic_link_up", "1 when the NIC's netdev operstate is up.", nl...),
		portActive:   d("railnet_rdma_port_active", "1 when the NIC's RDMA port state is ACTIVE.", nl...),
		gidSize:      d("railnet_rdma_gid_table_size", "Length of the RDMA port's GID table.", nl...),
		gidUsed:      d("railnet_rdma_gid_table_used", "Non-zero entries of the RDMA port's GID table.", nl...),
		mtu:          d("railnet_nic_mtu_bytes", "MTU of the NIC's netdev.", nl...),
		speed:        d("railnet_nic_speed_mbps", "Link speed of the NIC in Mb/s (0 when unknown).", nl...),
		dpDevices:    d("railnet_deviceplugin_devices", "Devices a device plugin resource offers, by health.", "resource", "health"),
		dpRegistered: d("railnet_deviceplugin_registered", "1 when the resource is registered with the kubelet.", "resource"),
		dpNICDown:    d("railnet_deviceplugin_nic_down", "1 for each NIC a resource matches whose link or RDMA port is down (the resource stays healthy while another serves).", "resource", "netdev"),
		scrapeErrors: d("railnet_rdma_counter_read_errors", "RDMA devices whose counters could not be read in this scrape."),
	}
}

// Describe sends nothing: the counters a NIC has depend on its hardware and
// driver, so this is an unchecked collector.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

var nonMetric = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// CounterName is the metric name of an RDMA sysfs counter: counters/NAME
// becomes railnet_rdma_NAME_total, hw_counters/NAME
// railnet_rdma_hw_NAME_total.
func CounterName(file string, hw bool) string {
	name := strings.ToLower(nonMetric.ReplaceAllString(file, "_"))
	name = strings.TrimSuffix(name, "_total")
	if hw {
		return "railnet_rdma_hw_" + name + "_total"
	}
	return "railnet_rdma_" + name + "_total"
}

func (c *Collector) counterDesc(name, help string) *prometheus.Desc {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.counters[name]
	if !ok {
		d = prometheus.NewDesc(name, help, []string{"rail", "netdev", "rdma_device", "port"}, prometheus.Labels{"node": c.node})
		c.counters[name] = d
	}
	return d
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect reads the sources and emits the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	var nics []railnetv1.NIC
	if c.src.NICs != nil {
		nics = c.src.NICs()
	}
	type devPort struct {
		dev  string
		port int32
	}
	byPort := map[devPort]*railnetv1.NIC{}
	for i := range nics {
		n := &nics[i]
		rail := ""
		if n.Rail != nil {
			rail = strconv.Itoa(int(*n.Rail))
		}
		lv := []string{rail, n.Netdev, n.RDMADevice}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
		}
		gauge(c.linkUp, b2f(n.LinkState == "up"))
		gauge(c.portActive, b2f(n.PortState == "ACTIVE"))
		gauge(c.gidSize, float64(n.GIDTableSize))
		gauge(c.gidUsed, float64(n.GIDTableUsed))
		gauge(c.mtu, float64(n.MTU))
		gauge(c.speed, float64(n.SpeedMbps))
		if n.RDMADevice != "" {
			byPort[devPort{n.RDMADevice, n.Port}] = n
		}
	}
	errors := 0
	if c.src.Counters != nil {
		seen := map[string]bool{}
		for key := range byPort {
			if seen[key.dev] {
				continue
			}
			seen[key.dev] = true
			st, err := c.src.Counters(key.dev)
			if err != nil {
				errors++
				continue
			}
			for _, ps := range st.PortStats {
				n := byPort[devPort{key.dev, int32(ps.Port)}]
				if n == nil {
					continue
				}
				rail := ""
				if n.Rail != nil {
					rail = strconv.Itoa(int(*n.Rail))
				}
				lv := []string{rail, n.Netdev, n.RDMADevice, strconv.Itoa(ps.Port)}
				for _, e := range ps.Stats {
					d := c.counterDesc(CounterName(e.Name, false), "RDMA port counter "+e.Name+" from sysfs (ports/N/counters).")
					ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(e.Value), lv...)
				}
				for _, e := range ps.HwStats {
					d := c.counterDesc(CounterName(e.Name, true), "RDMA port hardware counter "+e.Name+" from sysfs (ports/N/hw_counters).")
					ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(e.Value), lv...)
				}
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.GaugeValue, float64(errors))
	if c.src.Resources != nil {
		for _, r := range c.src.Resources() {
			healthy, unhealthy := 0, r.Devices
			if r.Healthy {
				healthy, unhealthy = r.Devices, 0
			}
			ch <- prometheus.MustNewConstMetric(c.dpDevices, prometheus.GaugeValue, float64(healthy), r.Name, "healthy")
			ch <- prometheus.MustNewConstMetric(c.dpDevices, prometheus.GaugeValue, float64(unhealthy), r.Name, "unhealthy")
			ch <- prometheus.MustNewConstMetric(c.dpRegistered, prometheus.GaugeValue, b2f(r.Registered), r.Name)
			for _, nd := range r.Down {
				ch <- prometheus.MustNewConstMetric(c.dpNICDown, prometheus.GaugeValue, 1, r.Name, nd)
			}
		}
	}
}
