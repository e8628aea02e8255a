// Package statetest holds a map-backed state.Store that fills the
// extender's view by hand, for unit tests and in-process benchmarks. The
// extender itself reads informer caches (state.CacheStore).
package statetest
