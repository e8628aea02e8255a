// Package webhook tests railnet's admission service end to end: the real
// webhook binary, registered by URL with a caBundle on the real apiserver of
// test/ground, injecting the seed guide's eight RDMA rails into a
// Deployment's pods, reading its ConfigMap live, rendering
// NetworkAttachmentDefinitions, and failing safe when it is down.
package webhook
