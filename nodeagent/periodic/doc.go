// Package periodic runs the node agent's background passes — the
// collectors of gone pods' addresses and NCCL folders, the pools' counters —
// every interval until the agent stops, logging what each pass did.
package periodic
