// Package admission answers AdmissionReview v1 requests: it decodes them,
// runs the typed logic of webhook/inject and webhook/validate on Pods,
// SpiderIPPools and SpiderMultusConfigs, and returns allowed/denied with a
// JSON patch: for pods the few operations injection makes (annotations,
// resource limits, entries appended to env, volumeMounts and volumes; in
// DRA mode, webhook/drainject, also the pod's resource claims and its
// containers' claims), written directly; for the CRDs a diff of the object
// before and after. Limit bounds the review bodies served at once. What it
// needs from the cluster comes through the Store interface.
//
// The review, the pod's fields and the response go through goccy/go-json
// (as the extender's requests do) rather than encoding/json: on
// `make bench-webhook` it halves the cost of an unannotated pod's review and
// takes a third off an 8-rail one; decoding dominates the former, GC and the
// injection itself the latter. A body it refuses is decoded again with
// encoding/json, whose error names the offending input more clearly.
package admission
