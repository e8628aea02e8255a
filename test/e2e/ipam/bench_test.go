package ipam_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/testutils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/railnet/railnet/nodeagent/ipam"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// BenchmarkCNIAllocate runs the CNI ADD of railnet-ipam (through the agent's
// socket) and of whereabouts v0.9.2 (built from its module, its CRDs applied
// from its module) against the same API server, the same pool size and the
// same concurrency, and reports both rates and their ratio. One b.N
// iteration is one batch of `concurrency` ADDs per implementation.
//
//	make bench-ipam
func BenchmarkCNIAllocate(b *testing.B) {
	const concurrency = 8
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin := ground.BuildPluginsT(b, "./nodeagent/cmd/railnet-ipam")
	wbDir, err := ground.BuildGoTool(ctx, ground.WhereaboutsTool())
	if err != nil {
		b.Fatal(err)
	}
	applyWhereaboutsCRDs(ctx, b)
	createPool(ctx, b, "bench", "10.40.0.0/16", []string{"10.40.0.1-10.40.255.254"}, "")
	cluster.CreateNode(b, ground.NodeSpec{Name: "bench-node"})
	podNS, err := testutils.NewNS()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = podNS.Close(); _ = testutils.UnmountNS(podNS) })

	sockDir, _ := os.MkdirTemp("", "ipam-bench-")
	b.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "ipam.sock")
	svc := &ipam.NodeService{Config: cluster.As("node-agent"), Node: "bench-node", Socket: sock}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	b.Cleanup(func() { stop(); <-done })
	waitSocket(b, sock)

	railnetConf := `{"cniVersion":"1.0.0","name":"bench","type":"macvlan","ipam":{"type":"railnet-ipam","ippools":{"ipv4":["bench"]}}}`
	// whereabouts insists on a flat configuration file next to the network's.
	flat := filepath.Join(sockDir, "whereabouts.conf")
	if err := os.WriteFile(flat, []byte(fmt.Sprintf(`{"datastore":"kubernetes","kubernetes":{"kubeconfig":%q}}`, cluster.Kubeconfig)), 0o600); err != nil {
		b.Fatal(err)
	}
	wbConf := fmt.Sprintf(`{"cniVersion":"0.3.1","name":"bench","type":"macvlan","ipam":{"type":"whereabouts","range":"10.50.0.0/16","configuration_path":%q,"kubernetes":{"kubeconfig":%q},"log_level":"error"}}`, flat, cluster.Kubeconfig)
	var seq atomic.Int64
	add := func(plugin, conf string, env ...string) error {
		n := seq.Add(1)
		c := exec.CommandContext(ctx, plugin)
		c.Stdin = strings.NewReader(conf)
		c.Env = append(os.Environ(), append(env, "CNI_COMMAND=ADD", fmt.Sprintf("CNI_CONTAINERID=c%d", n),
			"CNI_NETNS="+podNS.Path(), "CNI_IFNAME=net1", "CNI_PATH="+filepath.Dir(plugin),
			fmt.Sprintf("CNI_ARGS=IgnoreUnknown=true;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p%d;K8S_POD_UID=u%d", n, n))...)
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return fmt.Errorf("%s ADD: %v: %s%s", filepath.Base(plugin), err, out, stderr.String())
		}
		var res struct{ IPs []json.RawMessage }
		if json.Unmarshal(out, &res) != nil || len(res.IPs) != 1 {
			return fmt.Errorf("%s ADD printed %s", filepath.Base(plugin), out)
		}
		return nil
	}
	batch := func(f func() error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, concurrency)
		for range concurrency {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- f() }()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var railnetTime, wbTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		railnetTime += batch(func() error { return add(filepath.Join(bin, "railnet-ipam"), railnetConf, "RAILNET_IPAM_SOCKET="+sock) })
		wbTime += batch(func() error { return add(filepath.Join(wbDir, "whereabouts"), wbConf) })
	}
	n := float64(b.N * concurrency)
	rRate, wRate := n/railnetTime.Seconds(), n/wbTime.Seconds()
	b.ReportMetric(rRate, "railnet-allocs/s")
	b.ReportMetric(wRate, "whereabouts-allocs/s")
	b.ReportMetric(rRate/wRate, "ratio")
	b.Logf("CNI ADD, %d concurrent: railnet-ipam %.1f allocations/s, whereabouts %.1f allocations/s, ratio %.2f",
		concurrency, rRate, wRate, rRate/wRate)
}

func applyWhereaboutsCRDs(ctx context.Context, b *testing.B) {
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/k8snetworkplumbingwg/whereabouts@"+ground.WhereaboutsVersion).Output()
	if err != nil {
		b.Fatalf("locate whereabouts: %v", err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{"whereabouts.cni.cncf.io_ippools.yaml", "whereabouts.cni.cncf.io_overlappingrangeipreservations.yaml"} {
		data, err := os.ReadFile(filepath.Join(info.Dir, "doc", "crds", f))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cluster.Apply(ctx, data); err != nil {
			b.Fatal(err)
		}
	}
	// The new CRDs must be served before the first ADD.
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: "whereabouts.cni.cncf.io", Version: "v1alpha1", Kind: "IPPoolList"})
	poll.Until(b, time.Minute, "the whereabouts CRDs served", func() error { return cluster.Client.List(ctx, list) })
}
