package ipam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/testutils"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/ipam/alloc"
	"github.com/railnet/railnet/nodeagent/ipam/service"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// The railnet-ipam binary, run as a runtime runs a CNI plugin, reaches the
// IPAM service on its socket: ADD returns the address with the pool's
// gateway, an exhausted pool fails ADD with the pool named, DEL releases.
func TestPluginThroughTheSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := ground.BuildCommandsT(t, "./nodeagent/cmd/railnet-ipam")
	pool := createPool(ctx, t, "gpu2-net12", "172.16.12.0/24", []string{"172.16.12.10"}, "172.16.12.254")
	cluster.CreateNode(t, ground.NodeSpec{Name: "worker4"})

	sockDir, err := os.MkdirTemp("", "ipam-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "ipam.sock")
	svc := &service.Service{Socket: sock, Allocator: &alloc.Allocator{Node: "worker4", Reader: cluster.Client, Writer: cluster.Client}}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	t.Cleanup(func() { stop(); <-done })
	waitSocket(t, sock)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("IPAM socket mode %v (%v), want 0600", fi.Mode(), err)
	}

	// The plugin refuses to run for its own namespace, as a runtime never asks.
	podNS, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = podNS.Close(); _ = testutils.UnmountNS(podNS) })

	conf := `{"cniVersion":"1.0.0","name":"gpu2-macvlan","type":"macvlan","ipam":{"type":"railnet-ipam","ippools":{"ipv4":["gpu2-net12"]}}}`
	run := func(cmd, uid, container string) ([]byte, error) {
		c := exec.CommandContext(ctx, filepath.Join(bin, "railnet-ipam"))
		c.Stdin = strings.NewReader(conf)
		c.Env = append(os.Environ(), "CNI_COMMAND="+cmd, "CNI_CONTAINERID="+container, "CNI_NETNS="+podNS.Path(),
			"CNI_IFNAME=net2", "CNI_PATH="+bin, "RAILNET_IPAM_SOCKET="+sock,
			"CNI_ARGS=IgnoreUnknown=true;K8S_POD_NAMESPACE=train;K8S_POD_NAME=trainer-"+uid+";K8S_POD_UID="+uid)
		var out bytes.Buffer
		c.Stdout = &out
		err := c.Run()
		return out.Bytes(), err
	}

	out, err := run("ADD", "uid-a", "sandbox-a")
	if err != nil {
		t.Fatalf("ADD: %v\n%s", err, out)
	}
	var res struct {
		IPs []struct{ Address, Gateway string } `json:"ips"`
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.IPs) != 1 {
		t.Fatalf("ADD result %s (%v)", out, err)
	}
	if res.IPs[0].Address != "172.16.12.10/24" || res.IPs[0].Gateway != "172.16.12.254" {
		t.Fatalf("ADD gave %+v, want 172.16.12.10/24 via 172.16.12.254", res.IPs[0])
	}

	out, err = run("ADD", "uid-b", "sandbox-b")
	if err == nil {
		t.Fatalf("ADD on a full pool succeeded: %s", out)
	}
	var cniErr struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if json.Unmarshal(out, &cniErr) != nil || !strings.Contains(cniErr.Msg, "SpiderIPPool gpu2-net12 has no free address: 1 of 1 in use") {
		t.Fatalf("a full pool's ADD error does not name the pool and its use: %s", out)
	}

	if out, err := run("DEL", "uid-a", "sandbox-a"); err != nil {
		t.Fatalf("DEL: %v\n%s", err, out)
	}
	var list railnetv1.IPAllocationList
	if err := cluster.Client.List(ctx, &list, client.MatchingLabels{railnetv1.LabelPool: pool.Name}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Fatalf("DEL left %d allocations", len(list.Items))
	}
}

func waitSocket(t testing.TB, path string) {
	t.Helper()
	poll.Until(t, time.Minute, "IPAM socket "+path, func() error { _, err := os.Stat(path); return err })
}
