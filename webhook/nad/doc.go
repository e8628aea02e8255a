// Package nad renders a SpiderMultusConfig into the Multus
// NetworkAttachmentDefinition of the same namespace and name: a CNI conflist
// with macvlan/ipvlan (railnet IPAM) or the standard sriov, ib-sriov and
// ipoib plugins, followed by the railnet coordinator; and (RenderDRA) a
// DRA-mode inject group into its one railnet-dra-cni network, each member's
// list under its rail index. Both are pure functions; the controllers in
// webhook/controller keep the objects in sync.
package nad
