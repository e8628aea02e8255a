// Package service is the skeleton railnet's long-running binaries share: a
// Group runs a service's named parts under one context (the first failure
// stops the others and is the one reported), and Serve serves HTTP or HTTPS
// on a listener with fixed timeouts until the context ends, then drains the
// requests in flight for a bounded time; Health answers its probes.
package service
