// Package admission answers AdmissionReview v1 requests: it decodes them,
// runs the typed logic of webhook/inject and webhook/validate on Pods,
// SpiderIPPools and SpiderMultusConfigs, and returns allowed/denied with a
// JSON patch: for pods the few operations injection makes (annotations,
// resource limits; in DRA mode, webhook/drainject, also the pod's resource
// claims and its containers' claims), written directly; for the CRDs a diff of the object
// before and after. Limit bounds the review bodies served at once. What it
// needs from the cluster comes through the Store interface.
package admission
