// Package nccl makes NCCL use each pod's own RoCE GIDs. In shared RDMA mode
// every pod on a node sees every GID of each port (the host's, and those of
// every pod's macvlan), and NCCL picks, per HCA, the lowest-index valid RoCE
// v2 GID of the wanted address family (optionally inside one address range),
// without looking at which namespace or interface owns it; its
// NCCL_IB_GID_INDEX is one number for all HCAs. A pod can so silently use
// another pod's address until that pod goes.
//
// This package holds the rules, as plain functions over GID tables:
//   - Table/ReadPort: a port's GID table as sysfs shows it (gids/N,
//     gid_attrs/types/N, gid_attrs/ndevs/N), unreadable types kept as such;
//   - Pick: NCCL's own selection (ncclIbGetGidIndex / ncclUpdateGidIndex of
//     NVIDIA/nccl, re-written here from its description), the test oracle;
//   - Own: the index of the pod's own RoCE v2 GID (::ffff:<IPv4> or the IPv6
//     address) on a port, which the kernel adds asynchronously after the
//     macvlan gets its address (WaitOwn polls for it);
//   - Plan/Render: the per-pod NCCL conf file: NCCL_IB_HCA with exactly the
//     pod's rails' HCAs in rail order, NCCL_SOCKET_IFNAME, and
//     NCCL_IB_GID_INDEX when every rail's own GID sits at the same index —
//     else no index (NCCL would pick another pod's GID on some rail) and a
//     warning that names each rail's index, for the pod's annotation/event;
//   - Service: the per-pod folders <dir>/<pod UID>/{nccl.conf,rails/*.json}
//     the webhook mounts into the pod's RDMA container; Collector removes
//     the folders of pods gone from the node (Stale decides which);
//   - Notifier: tells a pod (railnet.io/nccl-warning and a Warning event,
//     through a PodWriter) once its rails settle with differing GID indices.
//
// NCCL reads NCCL_CONF_FILE only for variables not set in the environment,
// so railnet never puts NCCL_IB_GID_INDEX in the environment.
package nccl
