// Command railnet-scheduler is kube-scheduler v1.37 with railnet's
// RailnetPlacement plugin (package extender/plugin) compiled in: the
// extender's filter and score without the HTTP round trip. It takes
// kube-scheduler's flags and configuration; enable the plugin in a profile:
//
//	profiles:
//	- schedulerName: railnet-scheduler
//	  plugins:
//	    multiPoint:
//	      enabled: [{name: RailnetPlacement}]
//
// It is its own Go module: k8s.io/kubernetes can only be required with
// replace lines for its staging modules, which the main module must not
// carry.
package main
