// Package placement decides, as pure functions over plain values, which nodes
// can serve a pod's rails (Filter) and how well each one fits (Score). The
// caller gathers the node states from its caches; nothing here does I/O.
package placement
