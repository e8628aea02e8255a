// Package server is the extender's HTTP face: gin routes for the scheduler's
// filter and prioritize verbs (k8s.io/kube-scheduler/extender/v1 wire
// format), /healthz and /metrics. It decodes and bounds the scheduler's
// requests and leaves every decision to a Decider.
package server
