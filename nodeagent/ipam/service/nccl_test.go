package service

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/railnet/railnet/nodeagent/ipam/ipamwire"
	"github.com/railnet/railnet/nodeagent/nccl"
)

type warnings struct {
	mu   sync.Mutex
	said []string
}

func (w *warnings) Warn(_ context.Context, p nccl.PodRef, warning string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.said = append(w.said, p.Namespace+"/"+p.Name+" "+p.UID+": "+warning)
	return nil
}

// writeGID puts ip's RoCE v2 GID at index idx of hca's port 1 (the slots
// below it hold zero GIDs) and links NIC nic to hca.
func writeGID(t *testing.T, root, hca, nic string, idx int, ip string) {
	t.Helper()
	port := filepath.Join(root, "sys/class/infiniband", hca, "ports/1")
	for _, d := range []string{filepath.Join(port, "gids"), filepath.Join(port, "gid_attrs/types"), filepath.Join(port, "gid_attrs/ndevs"),
		filepath.Join(root, "sys/class/net", nic, "device/infiniband", hca)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := netip.MustParseAddr(ip).As16()
	var g []string
	for j := 0; j < 16; j += 2 {
		g = append(g, fmt.Sprintf("%02x%02x", b[j], b[j+1]))
	}
	for i := 0; i <= idx; i++ {
		v := "0000:0000:0000:0000:0000:0000:0000:0000"
		if i == idx {
			v = strings.Join(g, ":")
		}
		if err := os.WriteFile(filepath.Join(port, "gids", fmt.Sprint(i)), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(port, "gid_attrs/types", fmt.Sprint(idx)), []byte(nccl.TypeRoCEv2+"\n"), 0o644)
	_ = os.WriteFile(filepath.Join(port, "gid_attrs/ndevs", fmt.Sprint(idx)), []byte(nic+"\n"), 0o644)
}

// Through the socket: a pod whose rails' own GIDs sit at different indices
// is told once, by name, with each rail's index, after its rails settle;
// a pod whose rails agree is not.
func TestNCCLWarningReachesThePod(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	writeGID(t, root, "mlx5_0", "ens1", 3, "::ffff:172.16.11.5")
	writeGID(t, root, "mlx5_1", "ens2", 5, "::ffff:172.16.12.5")
	writeGID(t, root, "mlx5_2", "ens3", 3, "::ffff:172.16.13.5")
	said := &warnings{}
	notifier := &nccl.Notifier{Pods: said, Settle: 50 * time.Millisecond}
	svc := &Service{NCCLNotifier: notifier, NCCL: &nccl.Service{Dir: dir, Wait: time.Second, Every: 10 * time.Millisecond,
		PortOf:   func(m string) (nccl.Port, bool) { return nccl.SysfsPort(root, m) },
		ReadPort: func(p nccl.Port) (nccl.Table, error) { return nccl.ReadPort(root, p.HCA, p.Port) }}}
	sock, _ := startServiceWith(t, svc)
	c := ipamwire.NewClient(ipamwire.Socket(sock))
	ctx := context.Background()
	ask := func(uid, name, ifName, master, ip string) ipamwire.NCCLResponse {
		t.Helper()
		resp, err := c.NCCL(ctx, ipamwire.NCCLRequest{PodNamespace: "train", PodName: name, PodUID: uid, IfName: ifName, Master: master, IP: netip.MustParseAddr(ip)})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	ask("u-agree", "w-agree", "net1", "ens1", "172.16.11.5")
	if r := ask("u-agree", "w-agree", "net3", "ens3", "172.16.13.5"); r.Warning != "" || r.GIDIndex != 3 {
		t.Fatalf("agreeing rails: %+v", r)
	}
	ask("u-differ", "w-differ", "net1", "ens1", "172.16.11.5")
	if r := ask("u-differ", "w-differ", "net2", "ens2", "172.16.12.5"); r.GIDIndex != 5 || r.Warning == "" {
		t.Fatalf("differing rails: %+v", r)
	}
	notifier.Wait()
	said.mu.Lock()
	defer said.mu.Unlock()
	if len(said.said) != 1 || !strings.HasPrefix(said.said[0], "train/w-differ u-differ: the pod's own RoCE v2 GIDs sit at different indices") ||
		!strings.Contains(said.said[0], "net1 (mlx5_0 port 1, 172.16.11.5): GID index 3; net2 (mlx5_1 port 1, 172.16.12.5): GID index 5") {
		t.Errorf("pods told %q", said.said)
	}
}
