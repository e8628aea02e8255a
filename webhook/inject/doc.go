// Package inject decides what railnet adds to a pod that names an inject
// group (cni.spidernet.io/rdma-resource-inject or
// cni.spidernet.io/network-resource-inject, on the pod or its namespace): the
// k8s.v1.cni.cncf.io/networks annotation listing the group's
// SpiderMultusConfigs in rail order, and one unit of each of their RDMA
// resources, and (AddNCCL) the NCCL conf file the node agent writes for the
// pod, mounted into the RDMA container. Which group, which members and in
// which order are the rules of api/injectgroup, shared with the extender;
// this package turns them into the pod's annotations, limits and mounts. It
// works on plain values and never sees HTTP or the API server.
package inject
