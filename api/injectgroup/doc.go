// Package injectgroup is the rulebook of inject groups, written once for the
// webhook that injects them and the extender that schedules by them: which
// group a pod asks for (cni.spidernet.io/rdma-resource-inject or
// cni.spidernet.io/network-resource-inject, on the pod or its namespace),
// whether the webhook's podResourceInject configuration applies to the pod's
// namespace, which SpiderMultusConfigs are the group's members, which of them
// are usable, and in which rail order they come. It works on plain values;
// callers bring the configs and annotations from their own caches.
package injectgroup
