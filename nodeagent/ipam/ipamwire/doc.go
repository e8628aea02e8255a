// Package ipamwire is the protocol of the node agent's IPAM socket (JSON over
// HTTP on a unix socket) and its client. It imports nothing of Kubernetes,
// and its client not net/http (see Client), so the CNI plugins that use it
// (railnet-ipam, railnet-coordinator) stay small and start in a few
// milliseconds, once per interface of every pod.
package ipamwire
