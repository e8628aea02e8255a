// Package drainject decides what railnet adds to a pod of an inject group
// that opted into DRA mode (charts/railnet/docs/dra.md): instead of every
// rail of the group and one RDMA share each (package inject, device-plugin
// mode, unchanged), the pod gets one ResourceClaim from the template that
// pairs its k GPUs with their k affine rails (PairedClaimTemplate), its GPU
// containers use that claim instead of their nvidia.com/gpu limit, and its
// Multus annotation names the one railnet DRA network whose CNI creates the
// claimed rails. It works on plain values and never sees HTTP or the API
// server; the admission handler consults it for groups in DRA mode.
package drainject
