// Package plugin is railnet's filter and score as a kube-scheduler
// framework plugin (RailnetPlacement), for the railnet-scheduler binary
// (extender/cmd/railnet-scheduler): the same decisions as the HTTP extender
// — package placement over package state's informer-fed books — without a
// round trip and JSON per scheduling cycle. PreFilter works out the pod's
// rails and every node's verdict once per cycle; Filter reads it (the RDMA
// slots in use are left to the scheduler's NodeResourcesFit, which counts
// assumed pods); PreScore/Score rank the feasible nodes, bin-packing on
// the NodeInfos' use; Reserve/Unreserve hold the
// pool addresses of pods not yet allocated one.
package plugin
