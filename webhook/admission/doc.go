// Package admission answers AdmissionReview v1 requests: it decodes them,
// runs the typed logic of webhook/inject and webhook/validate on Pods,
// SpiderIPPools and SpiderMultusConfigs, and returns allowed/denied with a
// JSON patch computed from the object before and after. What it needs from
// the cluster comes through the Store interface.
package admission
