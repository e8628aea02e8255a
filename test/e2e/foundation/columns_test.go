package foundation

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// `kubectl get sp,smc,rdmanodes,ipa` shows each kind's printer columns and
// the values behind them.
func TestKubectlPrinterColumns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is part of the machine image and needed here: %v", err)
	}
	cluster.EnsureNamespace(t, "columns")

	gw := "172.16.13.254"
	total, used := int64(200), int64(3)
	pool := &spiderv2beta1.SpiderIPPool{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu3-net13"},
		Spec:       spiderv2beta1.IPPoolSpec{Subnet: "172.16.13.0/24", Gateway: &gw, IPs: []string{"172.16.13.1-172.16.13.200"}},
	}
	mustCreate(ctx, t, pool)
	pool.Status = spiderv2beta1.IPPoolStatus{TotalIPCount: &total, AllocatedIPCount: &used}
	if err := cluster.Client.Status().Update(ctx, pool); err != nil {
		t.Fatal(err)
	}
	smc := &spiderv2beta1.SpiderMultusConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu3-macvlan", Namespace: "columns"},
		Spec: spiderv2beta1.MultusCNIConfigSpec{Macvlan: &spiderv2beta1.MacvlanConfig{
			Master: []string{"enp13s0f0np0"}, RDMAResourceName: "spidernet.io/gpu3rdma",
			IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{"gpu3-net13"}},
		}},
	}
	mustCreate(ctx, t, smc)
	rn := &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: "worker1"}}
	mustCreate(ctx, t, rn)
	rn.Status = railnetv1.RDMANodeStatus{NetnsMode: railnetv1.NetnsModeShared, RailsTotal: 8, RailsUp: 7,
		Conditions: []metav1.Condition{{Type: railnetv1.ConditionRailsReady, Status: metav1.ConditionFalse, Reason: "RailsDown",
			Message: "rail 3 (enp14s0f0np0) link down", LastTransitionTime: metav1.Now()}}}
	if err := cluster.Client.Status().Update(ctx, rn); err != nil {
		t.Fatal(err)
	}
	ipa := &railnetv1.IPAllocation{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu3-net13.172-16-13-1"},
		Spec: railnetv1.IPAllocationSpec{Pool: "gpu3-net13", IP: "172.16.13.1", PodNamespace: "columns",
			PodName: "trainer-0", PodUID: "uid-1", Interface: "net3", Node: "worker1"},
	}
	mustCreate(ctx, t, ipa)

	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", cluster.Kubeconfig,
		"get", "sp,smc,rdmanodes,ipa", "-A").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("kubectl get sp,smc,rdmanodes,ipa -A:\n%s", text)
	for _, want := range [][]string{
		{"VERSION", "SUBNET", "ALLOCATED-IP-COUNT", "TOTAL-IP-COUNT", "DEFAULT"}, // Spiderpool's columns
		{"gpu3-net13", "172.16.13.0/24", "3", "200"},
		{"CNITYPE", "MASTER", "RDMA-RESOURCE"},
		{"gpu3-macvlan", "macvlan", `["enp13s0f0np0"]`, "spidernet.io/gpu3rdma"},
		{"READY", "RAILS-UP", "RAILS", "MODE"},
		{"worker1", "False", "7", "8", "shared"},
		{"POOL", "IP", "POD-NAMESPACE", "POD", "INTERFACE", "NODE"},
		{"gpu3-net13.172-16-13-1", "gpu3-net13", "172.16.13.1", "columns", "trainer-0", "net3", "worker1"},
	} {
		if !hasLineWithFields(text, want) {
			t.Errorf("no line of kubectl's output has the fields %q in order", want)
		}
	}
}

func mustCreate(ctx context.Context, t *testing.T, obj client.Object) {
	t.Helper()
	if err := cluster.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), obj) })
}

// hasLineWithFields reports whether one line holds the fields in this order
// (whole whitespace-separated fields; others may sit between them).
func hasLineWithFields(text string, fields []string) bool {
	for _, line := range strings.Split(text, "\n") {
		got := strings.Fields(line)
		i := 0
		for _, f := range got {
			// kubectl prints names as kind.group/name when it lists several kinds
			if i < len(fields) && (f == fields[i] || strings.HasSuffix(f, "/"+fields[i])) {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}
