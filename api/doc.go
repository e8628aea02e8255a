// Package api holds what railnet's services share: the CRD Go types
// (spiderpool.spidernet.io/v2beta1 and railnet.io/v1alpha1), the generated CRD
// manifests, and the few helpers that more than one service needs.
//
// How railnet talks to the API server: controller-runtime's client and cache,
// for every component.
//
// Why not a generated clientset (k8s.io/code-generator)? railnet has four
// kinds and three small services. controller-runtime gives one typed client
// (client.Client) and one informer cache (cache.Cache) for built-in and custom
// kinds alike, from the same Go types that controller-gen turns into CRDs; a
// generated clientset would add several thousand lines of generated clients,
// listers and informers per group that we would have to regenerate and verify,
// for no behaviour we need. The cache gives the scheduler extender its
// "informer caches only, no API call on the request path" property, and field
// indexes for lookups such as "allocations of this pool". controller-runtime's
// webhook server is not used: the HTTP servers are gin, per the design.
package api
