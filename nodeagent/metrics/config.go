package metrics

import "github.com/prometheus/client_golang/prometheus"

// ConfigState is one hot-reloaded input as the metrics see it: Input is a
// fixed name ("device_plugin"), Valid false while its file on disk is
// refused and the last good version stays in force.
type ConfigState struct {
	Input string
	Valid bool
}

// ConfigCollector exports railnet_agent_config_valid: one series per
// hot-reloaded input, so an alert can catch a bad edit that the agent
// survives by keeping its last good config.
type ConfigCollector struct {
	states func() []ConfigState
	valid  *prometheus.Desc
}

// NewConfigCollector returns the collector for node reading states at
// scrape time.
func NewConfigCollector(node string, states func() []ConfigState) *ConfigCollector {
	return &ConfigCollector{states: states, valid: prometheus.NewDesc("railnet_agent_config_valid",
		"1 when the hot-reloaded input is in force as written on disk; 0 while it is refused and the last good version stays in force (see the RDMANode's ConfigValid condition).",
		[]string{"input"}, prometheus.Labels{"node": node})}
}

// Describe implements prometheus.Collector.
func (c *ConfigCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.valid }

// Collect implements prometheus.Collector.
func (c *ConfigCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.states() {
		v := 0.0
		if s.Valid {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.valid, prometheus.GaugeValue, v, s.Input)
	}
}
