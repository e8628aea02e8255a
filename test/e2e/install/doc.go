// Package install does what an operator does, on the test ground's real
// nodes: Multus and the reference CNI plugins are in place (prerequisites),
// `helm install` puts railnet's chart in with its default image references
// (the images are built here and imported into the nodes, as a registry
// would serve them), every railnet pod goes Ready, the seed's pools and
// network configs are applied, an annotated Deployment gets its 8 rails and
// runs, and `helm uninstall` takes railnet's pods away.
package install
