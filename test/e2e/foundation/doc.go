// Package foundation is the end-to-end suite of the test ground itself: the
// seed guide's YAML against railnet's CRDs on a real API server, the real
// scheduler binding RDMA pods created through a Deployment, printer columns,
// and a clean stop.
package foundation
