// Package v2beta1 holds the spiderpool.spidernet.io/v2beta1 kinds that railnet
// serves so that the seed guide's YAML applies verbatim: SpiderIPPool
// (cluster-scoped) and SpiderMultusConfig (namespaced).
//
// +kubebuilder:object:generate=true
// +groupName=spiderpool.spidernet.io
package v2beta1
