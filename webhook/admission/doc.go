// Package admission answers AdmissionReview v1 requests for Pods,
// SpiderIPPools and SpiderMultusConfigs. Each kind's logic is typed, as
// controller-runtime's custom defaulters and validators are: a
// Default(ctx, *T) for the mutating webhook (pods: webhook/inject, in DRA
// mode webhook/drainject; the CRDs: webhook/validate's defaults and
// checks) and a Validate(ctx, old, new *T) for the validating one; they
// never see the review. One generic wrapper (typed.go) decodes the object,
// calls the typed method, computes the JSON patch and maps refusals and
// warnings into the AdmissionResponse. The patch of a pod holds the few
// operations injection makes (annotations, resource limits, entries
// appended to env, volumeMounts and volumes; in DRA mode also the pod's
// resource claims and its containers' claims), written directly; that of
// a CRD is a diff of the object before and after. Limit bounds the review
// bodies served at once. What it needs from the cluster comes through the
// Store interface.
//
// The review and the pod's fields are decoded by goccy/go-json (as the
// extender's requests are) rather than encoding/json: on
// `make bench-webhook` it halved the cost of an unannotated pod's review and
// took a third off an 8-rail one. A body it refuses is decoded again with
// encoding/json, whose error names the offending input more clearly. The
// review's objects are kept as goccy/go-json hands them over (readReview;
// runtime.RawExtension would copy them once more), and the typed pod
// injection works on is reused between reviews with its containers
// (typedPods); the escaped text of the long annotation values a patch
// writes (the networks, the summary) is remembered across reviews
// (appendEscaped). Decoding the pod in the review's own pass was tried and
// left: goccy/go-json decodes a repeated "object" member into the pod
// already decoded (merging), where RawExtension keeps the last one, and it
// saved one allocation of 56. The answer is written by hand (response.go), byte for byte as json.Marshal
// writes the typed AdmissionReview; the body, the patch and the answer are
// written into buffers reused between reviews.
//
// The objects are decoded by the package's own codecs, not
// controller-runtime's admission.Decoder, which costs more on every kind
// (BenchmarkDecode, build tag decodebench: the seed's objects with
// apiVersion and kind, as the apiserver sends them; allocations are exact,
// times the median of five runs on a loaded 2-core machine):
//
//	pod (podFields, goccy/go-json)   10 allocs,  4.0 µs; Decoder into a corev1.Pod 35 allocs, 37 µs
//	SpiderMultusConfig (encoding/json) 29 allocs, 27 µs; Decoder 41 allocs, 45 µs
//	SpiderIPPool (encoding/json)      16 allocs, 15 µs; Decoder 26 allocs, 21 µs
//
// The Decoder reads the object twice (once for apiVersion and kind, then
// into the type through the scheme), and for a pod it decodes everything
// where injection reads a few fields; its errors are worded differently
// too, and refusal texts must not change. A pod that asks for no inject
// group is answered from its decoded annotations (pods.Leaves) before the
// typed pod is made, which took a sixth of the handler's time on it.
//
// A pod that is injected is answered, when a pod alike in everything
// injection reads (memo.go: its fields but names, the injection
// annotations, the namespace, the configuration, the group it asks for,
// the same SpiderMultusConfig list) was answered before, with that answer
// again — patch, base64 text and warnings — without making the typed pod,
// injecting or writing the patch: pods of one Job are alike there. It cut
// an 8-rail pod's review from ~2.3x to ~1.2-1.4x the CPU of an
// unannotated one on `make bench-webhook`. Refusals and DRA mode are
// never remembered.
package admission
