// Package monitoring checks what operators are given to watch railnet with —
// the Grafana dashboard and the Prometheus alert rules of the chart — against
// what railnet's components export: every query parses with Prometheus' own
// PromQL parser and names only metrics, labels and label values that the
// components' collectors produce.
package monitoring
