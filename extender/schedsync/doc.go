// Package schedsync keeps the kube-scheduler configurations the chart
// publishes following the RDMA device plugin's config as an operator edits
// it after install (`kubectl edit configmap`, as the seed guide does): the
// extender entries' managedResources — the resources for which kube-scheduler
// calls the extender at all — become the resources that config defines, and
// the Deployment of a kube-scheduler that reads one of those configurations
// (the chart's secondary scheduler) is rolled, since kube-scheduler reads its
// configuration only at start.
//
// The rules are pure functions (ResourceNames, SetManagedResources); Syncer
// is the thin loop that watches the three ConfigMaps and writes.
package schedsync
