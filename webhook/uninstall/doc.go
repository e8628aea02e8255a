// Package uninstall removes what railnet made at run time when its Helm
// release is uninstalled (the chart's post-delete hook runs it as
// `railnet-webhook uninstall`): RDMANodes, the agents' rail labels on Nodes,
// the webhook's inject-group labels on Namespaces, the
// NetworkAttachmentDefinitions it rendered, the self-managed CA Secret, the
// extender's CA-bundle ConfigMap and the components' Leases. IPAllocations
// stay on purpose: pods that still run hold those addresses, and a later
// install must not hand them out again.
package uninstall
