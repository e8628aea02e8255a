// Package plugin is railnet's filter and score as a kube-scheduler
// framework plugin (RailnetPlacement), for the railnet-scheduler binary
// (extender/cmd/railnet-scheduler): the same decisions as the HTTP extender
// — package placement over package state's informer-fed books — without a
// round trip and JSON per scheduling cycle. PreFilter works out the pod's
// rails, its pools' room and its job's nodes once per cycle, and when
// every node passes (by the verdicts remembered per node) it tells the
// framework to call no Filter in that cycle; Filter and Score decide per
// node on the scheduler's goroutines, reaching the node's
// facts through the scheduler's own NodeInfo (a table from the snapshot's
// NodeInfos to the store's entries, kept until the node list changes; the
// Nodes and Pods themselves come from the scheduler's informers). The RDMA slots in
// use are left to the scheduler's NodeResourcesFit, which counts assumed
// pods; Score bin-packs on the NodeInfo's use. Reserve/Unreserve hold the
// pool addresses of pods not yet allocated one.
package plugin
