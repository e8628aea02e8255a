// Package plugintest holds what tests and benchmarks of the
// RailnetPlacement plugin share: the framework's CycleState and NodeInfo
// as fakes that fill only what the plugin reads (the real ones live in
// k8s.io/kubernetes, which the main module does not import), and one
// scheduling cycle run as the framework runs it.
package plugintest
