// Package metrics holds the admission service's Prometheus collectors:
// request counts and latency per endpoint, injected pods by group and
// refusals by reason, on a registry of their own.
package metrics
