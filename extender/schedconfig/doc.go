// Package schedconfig writes the kube-scheduler configuration that plugs the
// railnet extender in: one Extender entry plus percentageOfNodesToScore. The
// end-to-end tests and the Helm chart use the same function, so they cannot
// drift apart.
package schedconfig
