package nccl

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A pod's rails reported one at a time end in one conf file; a GID the
// kernel adds late is waited for; one that never comes is said, not hidden.
func TestServiceWritesConf(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	for i := range 2 {
		hca, nic := fmt.Sprintf("mlx5_%d", i), fmt.Sprintf("enpmlx5_%d", i)
		writePort(t, root, hca, table(linkLocal, roce(fmt.Sprintf("172.16.1%d.254", i+1))))
		if err := os.MkdirAll(filepath.Join(root, "sys/class/net", nic, "device/infiniband", hca), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := &Service{Dir: dir, Wait: 5 * time.Second, Every: 10 * time.Millisecond,
		PortOf:   func(m string) (Port, bool) { return SysfsPort(root, m) },
		ReadPort: func(p Port) (Table, error) { return ReadPort(root, p.HCA, p.Port) }}
	ctx := context.Background()
	const uid = "0b5c7e2a-1111-4c4c-9a9a-123456789abc"

	// net1: the kernel adds the pod's GIDs while the agent waits.
	go func() {
		time.Sleep(50 * time.Millisecond)
		writePort(t, root, "mlx5_0", table(linkLocal, roce("172.16.11.254"), roce("172.16.11.5")))
	}()
	r, _, err := s.Rail(ctx, uid, "net1", "enpmlx5_0", netip.MustParseAddr("172.16.11.5"))
	if err != nil || r.HCA != "mlx5_0" || r.Port != 1 || r.GIDIndex != 5 {
		t.Fatalf("net1: %+v, %v; want mlx5_0 port 1 GID 5", r, err)
	}
	writePort(t, root, "mlx5_1", table(linkLocal, roce("172.16.12.254"), roce("172.16.12.5")))
	_, conf, err := s.Rail(ctx, uid, "net2", "enpmlx5_1", netip.MustParseAddr("172.16.12.5"))
	if err != nil || conf.Warning != "" {
		t.Fatalf("net2: %v %q", err, conf.Warning)
	}
	b, err := os.ReadFile(filepath.Join(dir, uid, ConfFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(b), "NCCL_IB_HCA==mlx5_0:1,mlx5_1:1\nNCCL_SOCKET_IFNAME==eth0\nNCCL_IB_GID_INDEX=5\n") {
		t.Errorf("conf file:\n%s", b)
	}

	// A third rail whose GID never comes: the file says so and sets no index.
	s.Wait = 100 * time.Millisecond
	writePort(t, root, "mlx5_2", table(linkLocal))
	if err := os.MkdirAll(filepath.Join(root, "sys/class/net/enpmlx5_2/device/infiniband/mlx5_2"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, conf, err = s.Rail(ctx, uid, "net3", "enpmlx5_2", netip.MustParseAddr("172.16.13.5"))
	if err != nil || !strings.Contains(conf.Warning, "had not added the pod's RoCE v2 GID on net3") {
		t.Fatalf("net3: %v, warning %q", err, conf.Warning)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, uid, ConfFile)); strings.Contains(string(b), "NCCL_IB_GID_INDEX=") || !strings.Contains(string(b), "# warning: ") {
		t.Errorf("conf file with a missing GID:\n%s", b)
	}

	for _, tt := range []struct{ uid, ifName, master, want string }{
		{uid: "../etc", ifName: "net1", master: "enpmlx5_0", want: "not a pod UID"},
		{uid: uid, ifName: "net1/x", master: "enpmlx5_0", want: "not a pod UID, interface name"},
		{uid: uid, ifName: "net4", master: "eth9", want: `NIC "eth9" of pod ` + uid + ` interface net4 has no RDMA port on this node`},
	} {
		if _, _, err := s.Rail(ctx, tt.uid, tt.ifName, tt.master, netip.MustParseAddr("172.16.11.5")); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Rail(%q, %q, %q) = %v, want %q", tt.uid, tt.ifName, tt.master, err, tt.want)
		}
	}
	if err := s.Remove(uid); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, uid)); !os.IsNotExist(err) {
		t.Errorf("the pod's folder is left: %v", err)
	}
}

// Once a rail of a pod waited in vain, its next rails poll only for Retry,
// not Wait each: the pod's sandbox is not held Wait × rails. Another pod
// still gets the full Wait. In a synctest bubble the waits are counted in
// polls of the GID table, exactly, whatever the machine's load; the odd
// Wait and Retry keep a poll from falling on a deadline.
func TestServiceRetriesBriefly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root, dir := t.TempDir(), t.TempDir()
		for i := range 2 {
			hca, nic := fmt.Sprintf("mlx5_%d", i), fmt.Sprintf("enpmlx5_%d", i)
			writePort(t, root, hca, table(linkLocal))
			if err := os.MkdirAll(filepath.Join(root, "sys/class/net", nic, "device/infiniband", hca), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		polls := 0
		s := &Service{Dir: dir, Wait: 59500 * time.Millisecond, Every: time.Second, Retry: 2500 * time.Millisecond,
			PortOf: func(m string) (Port, bool) { return SysfsPort(root, m) },
			ReadPort: func(p Port) (Table, error) {
				polls++
				return ReadPort(root, p.HCA, p.Port)
			}}
		rail := func(uid, ifName, master, ip string) (Rail, Conf, int) {
			t.Helper()
			polls = 0
			r, conf, err := s.Rail(context.Background(), uid, ifName, master, netip.MustParseAddr(ip))
			if err != nil {
				t.Fatalf("%s of pod %s: %v", ifName, uid, err)
			}
			return r, conf, polls
		}
		const uid = "0b5c7e2a-1111-4c4c-9a9a-123456789abc"

		// net1's GID never comes: polled for the whole Wait (0s … 59s).
		if r, _, n := rail(uid, "net1", "enpmlx5_0", "172.16.11.5"); r.GIDIndex != -1 || n != 60 {
			t.Fatalf("net1 (no GID): GID index %d after %d polls; want -1 after 60 (the whole Wait)", r.GIDIndex, n)
		}
		// net2 of the same pod: polled for Retry only (0s, 1s, 2s).
		r, conf, n := rail(uid, "net2", "enpmlx5_1", "172.16.12.5")
		if r.GIDIndex != -1 || n != 3 || !strings.Contains(conf.Warning, "net1, net2") {
			t.Fatalf("net2 after net1 waited in vain: GID index %d after %d polls, warning %q; want -1 after 3 polls (Retry, not Wait), both rails named", r.GIDIndex, n, conf.Warning)
		}
		// Another pod's GID comes after Retry: it is waited for and found.
		go func() {
			time.Sleep(10500 * time.Millisecond)
			writePort(t, root, "mlx5_1", table(linkLocal, roce("172.16.12.6")))
		}()
		if r, _, n := rail("other-pod", "net2", "enpmlx5_1", "172.16.12.6"); r.GIDIndex != 3 || n != 12 {
			t.Fatalf("another pod's rail: GID index %d after %d polls; want 3 after 12 (its own full Wait)", r.GIDIndex, n)
		}
	})
}

// nccl-env's explanation: with the pod's conf file NCCL uses the pod's own
// GID; without it, the host's.
func TestExplain(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	writePort(t, root, "mlx5_0", table(linkLocal, roce("172.16.11.254"), roce("172.16.11.5")))
	if err := os.MkdirAll(filepath.Join(root, "sys/class/net/enp11/device/infiniband/mlx5_0"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Service{Dir: dir, PortOf: func(m string) (Port, bool) { return SysfsPort(root, m) },
		ReadPort: func(p Port) (Table, error) { return ReadPort(root, p.HCA, p.Port) }}
	const uid = "pod-1"
	if _, _, err := s.Rail(context.Background(), uid, "net1", "enp11", netip.MustParseAddr("172.16.11.5")); err != nil {
		t.Fatal(err)
	}
	rails, vars, err := Load(dir, uid)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := ReadPort(root, "mlx5_0", 1)
	tables := map[Port]Table{{HCA: "mlx5_0", Port: 1}: tab}
	if got := Explain(rails, vars, tables); !strings.Contains(got, "NCCL uses GID 5 = 172.16.11.5 (RoCE v2, enpmlx5_0): the pod's own address") {
		t.Errorf("with the conf file:\n%s", got)
	}
	if got := Explain(rails, nil, tables); !strings.Contains(got, "NCCL uses GID 3 = 172.16.11.254 (RoCE v2, enpmlx5_0): NOT the pod's own address") {
		t.Errorf("without the conf file:\n%s", got)
	}
	if _, _, err := Load(dir, "other-pod"); err == nil || !strings.Contains(err.Error(), "no NCCL rails recorded for pod other-pod") {
		t.Errorf("Load of an unknown pod: %v", err)
	}
}
