// Package store answers the admission handler's questions about the cluster
// from a controller-runtime cache: the podResourceInject configuration
// (read from the service's ConfigMap on every request, so a change applies
// to the next pod without a restart), namespace annotations,
// SpiderMultusConfigs, SpiderIPPools and their IPAllocations.
package store
