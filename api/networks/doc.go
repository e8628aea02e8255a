// Package networks reads and writes the Multus pod annotation
// k8s.v1.cni.cncf.io/networks, in both of its forms (JSON list of selection
// elements, or the comma-separated "ns/name@ifname" shorthand), so the webhook
// that writes it and the extender that reads it agree on one parser.
package networks
