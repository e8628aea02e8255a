// Package inventory keeps the node's RDMANode status current (created when
// missing, conflict-safe status updates, heartbeat, RDMASharedMode and
// RailsReady conditions, rails up/total) and mirrors a summary into Node
// labels (railnet.io/rails-ready, railnet.io/rail.N: up|down) so that a rail
// change updates the Node and the scheduler re-queues pods waiting for it.
package inventory
