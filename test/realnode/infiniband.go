package realnode

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// InfinibandDevices returns character-device fixtures for the device nodes
// named in a fixture's dev/infiniband folder, numbered as the kernel numbers
// them (ib_uverbs: 231:192+N; ib_umad: umadN 231:N, issmN 231:64+N;
// rdma_cm: a misc device, 10:58 here). This kernel has no RDMA driver behind
// those numbers (opening one fails), but they are real device nodes: the
// device plugin's specs point at them and runc adds them to containers.
func InfinibandDevices(fixtureDevDir string) (map[string]string, error) {
	entries, err := os.ReadDir(fixtureDevDir)
	if err != nil {
		return nil, fmt.Errorf("fixture device folder: %w", err)
	}
	out := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		var major, minor int
		switch {
		case name == "rdma_cm":
			major, minor = 10, 58
		case strings.HasPrefix(name, "uverbs"):
			major, minor = 231, 192+index(name, "uverbs")
		case strings.HasPrefix(name, "umad"):
			major, minor = 231, index(name, "umad")
		case strings.HasPrefix(name, "issm"):
			major, minor = 231, 64+index(name, "issm")
		default:
			continue
		}
		if minor < 0 {
			return nil, fmt.Errorf("fixture device %q: no index", name)
		}
		out["/dev/infiniband/"+name] = fmt.Sprintf("%d:%d", major, minor)
	}
	return out, nil
}

func index(name, prefix string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(name, prefix))
	if err != nil {
		return -1000
	}
	return n
}
