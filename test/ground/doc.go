// Package ground is railnet's test ground: it builds etcd, kube-apiserver,
// kube-scheduler and kube-controller-manager from their Go modules (cached
// under ~/.cache/railnet), starts them on 127.0.0.1 with generated
// certificates and RBAC on, installs railnet's CRDs, and stops everything it
// started on every exit path. Tests use Start or RunMain; people use the
// test/cluster command.
package ground
