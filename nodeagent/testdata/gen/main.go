// Command gen writes the sysfs fixture trees under nodeagent/testdata/sysfs.
// Run from the repository root: go run ./nodeagent/testdata/gen
//
// The trees model an 8-GPU / 8-NIC ConnectX node: two sockets (NUMA 0 and 1),
// two PCIe root complexes per socket, one root port per complex leading to a
// PCIe switch whose two downstream ports each lead to a second-level switch
// holding one ConnectX function (mlx5_N, enpXXs0f0np0) and one GPU. So NIC i
// and GPU i are PIX, NIC i and GPU i^1 are PXB, GPUs on the other complex of
// the same socket are NODE, and across sockets SYS.
package main

import (
	"log"
	"os"
	"path/filepath"
)

type variant struct {
	name     string
	rdma     bool
	downPort int // rail index whose RDMA port is DOWN, -1 for none
}

func main() {
	out := filepath.Join("nodeagent", "testdata", "sysfs")
	for _, v := range []variant{
		{name: "rail8", rdma: true, downPort: -1},
		{name: "downport", rdma: true, downPort: 3},
		{name: "nordma", rdma: false, downPort: -1},
	} {
		root := filepath.Join(out, v.name)
		if err := os.RemoveAll(root); err != nil {
			log.Fatal(err)
		}
		if err := writeTree(root, v); err != nil {
			log.Fatal(err)
		}
	}
}
