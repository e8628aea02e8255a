// Package nad renders a SpiderMultusConfig into the Multus
// NetworkAttachmentDefinition of the same namespace and name: a CNI conflist
// with macvlan/ipvlan (railnet IPAM) or the standard sriov, ib-sriov and
// ipoib plugins, followed by the railnet coordinator. Render is a pure
// function; the controller in webhook/controller keeps the objects in sync.
package nad
