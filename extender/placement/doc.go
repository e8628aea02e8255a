// Package placement decides, as pure functions over plain values, which nodes
// can serve a pod's rails (Filter) and how well each one fits (Score). The
// caller gathers the node states from its caches; nothing here does I/O.
// What a node offers is worked out once per change of its objects
// (NewNodeFacts), and its reasons never name it, so many nodes refused for
// one cause share one line of the scheduler's message.
package placement
