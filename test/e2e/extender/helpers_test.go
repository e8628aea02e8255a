package extender

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/injectgroup"
	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// rig is one test's world: its namespace, RDMA resource, pool and network.
type rig struct {
	t        *testing.T
	ns       string
	resource corev1.ResourceName
	pool     string
	network  string
	// scheduler is the pods' schedulerName ("": the cluster's).
	scheduler string
}

func newRig(t *testing.T, ns, res string, ips []string, mutPool func(*spiderv2beta1.SpiderIPPool)) *rig {
	t.Helper()
	r := &rig{t: t, ns: ns, resource: corev1.ResourceName(res), pool: ns + "-net11", network: ns + "/gpu1-macvlan"}
	cluster.EnsureNamespace(t, ns)
	gw := "172.16.11.254"
	pool := &spiderv2beta1.SpiderIPPool{
		ObjectMeta: metav1.ObjectMeta{Name: r.pool},
		Spec:       spiderv2beta1.IPPoolSpec{Subnet: "172.16.11.0/24", IPs: ips, Gateway: &gw},
	}
	if mutPool != nil {
		mutPool(pool)
	}
	create(t, pool)
	// Each rig's network is in two inject groups: <ns> and all-<ns>.
	smc := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gpu1-macvlan",
		Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: ns + ",all-" + ns}}}
	smc.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{
		Master: []string{"eth1"}, RDMAResourceName: res,
		IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{r.pool}},
	}
	create(t, smc)
	return r
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// create creates obj and deletes it when the test ends.
func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := cluster.Client.Create(ctxT(t, 30*time.Second), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %T %s: %v", obj, obj.GetName(), err)
		}
	})
}

// node creates a Node advertising 100 slots of the rig's resource, and its
// RDMANode with one rail NIC eth1 (rail 0), up and GPU-near unless mut
// changes it.
func (r *rig) node(name string, labels map[string]string, mut func(*railnetv1.NIC)) *corev1.Node {
	r.t.Helper()
	n := cluster.CreateNode(r.t, ground.NodeSpec{
		Name:        name,
		Allocatable: corev1.ResourceList{r.resource: resource.MustParse("100")},
		Labels:      labels,
	})
	nic := railnetv1.NIC{
		Netdev: "eth1", RDMADevice: "mlx5_1", Port: 1, PortState: "ACTIVE", PhysState: "LINK_UP", LinkLayer: "Ethernet",
		LinkState: "up", MTU: 1500, Rail: ptr(int32(0)), GIDTableSize: 256, GIDTableUsed: 4,
		GPUDistance: railnetv1.DistancePIX, NearestGPU: "0000:0c:00.0", Resources: []string{string(r.resource)},
	}
	if mut != nil {
		mut(&nic)
	}
	rn := &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: name}}
	create(r.t, rn)
	r.setNIC(name, func(x *railnetv1.NIC) { *x = nic })
	return n
}

// setNIC changes eth1 in the RDMANode's status (creating it when absent),
// refreshes the heartbeat, and mirrors the rail's state into the Node label
// as the node agent does.
func (r *rig) setNIC(name string, mut func(*railnetv1.NIC)) {
	r.t.Helper()
	ctx := ctxT(r.t, 30*time.Second)
	var up bool
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rn := &railnetv1.RDMANode{}
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: name}, rn); err != nil {
			return err
		}
		if len(rn.Status.NICs) == 0 {
			rn.Status.NICs = []railnetv1.NIC{{Netdev: "eth1", NUMANode: -1}}
		}
		mut(&rn.Status.NICs[0])
		up = rn.Status.NICs[0].Up()
		now := metav1.Now()
		rn.Status.NetnsMode = railnetv1.NetnsModeShared
		rn.Status.RailsTotal = 1
		rn.Status.RailsUp = 0
		if up {
			rn.Status.RailsUp = 1
		}
		rn.Status.HeartbeatTime = &now
		return cluster.Client.Status().Update(ctx, rn)
	})
	if err != nil {
		r.t.Fatalf("update RDMANode %s: %v", name, err)
	}
	state := railnetv1.RailDown
	if up {
		state = railnetv1.RailUp
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n := &corev1.Node{}
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: name}, n); err != nil {
			return err
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[railnetv1.RailLabel(0)] = state
		return cluster.Client.Update(ctx, n)
	})
	if err != nil {
		r.t.Fatalf("label node %s: %v", name, err)
	}
}

// pod creates a pod on the rig's network asking one RDMA share.
func (r *rig) pod(name string, labels map[string]string) *corev1.Pod {
	r.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: name, Labels: labels,
			Annotations: map[string]string{"k8s.v1.cni.cncf.io/networks": r.network}},
		Spec: corev1.PodSpec{SchedulerName: r.scheduler, Containers: []corev1.Container{{
			Name: "rdma-tools", Image: "ghcr.io/spidernet-io/rdma-tools:latest",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{r.resource: resource.MustParse("1")}},
		}}},
	}
	create(r.t, p)
	return p
}

// waitPod polls the pod until ok says so.
func (r *rig) waitPod(p *corev1.Pod, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	r.t.Helper()
	got := &corev1.Pod{}
	err := poll.Wait(r.t.Context(), 90*time.Second, "pod "+p.Namespace+"/"+p.Name+" "+what, func() error {
		if err := cluster.Client.Get(r.t.Context(), client.ObjectKeyFromObject(p), got); err != nil {
			return err
		}
		if !ok(got) {
			return fmt.Errorf("node=%q conditions=%v", got.Spec.NodeName, got.Status.Conditions)
		}
		return nil
	})
	if err != nil {
		r.t.Fatalf("%v\nscheduler log:\n%s", err, cluster.Logs("kube-scheduler", 20))
	}
	return got
}

func (r *rig) waitBound(p *corev1.Pod) string {
	return r.waitPod(p, "bound", func(p *corev1.Pod) bool { return p.Spec.NodeName != "" }).Spec.NodeName
}

// waitUnschedulable waits for the pod's PodScheduled=False condition whose
// message contains want, and returns it.
func (r *rig) waitUnschedulable(p *corev1.Pod, want string) string {
	got := r.waitPod(p, "unschedulable with "+want, func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, want) {
				return true
			}
		}
		return false
	})
	if got.Spec.NodeName != "" {
		r.t.Fatalf("pod %s was bound to %s", got.Name, got.Spec.NodeName)
	}
	for _, c := range got.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Message
		}
	}
	return ""
}

// waitEvent waits for a FailedScheduling event of the pod whose message
// contains want.
func (r *rig) waitEvent(p *corev1.Pod, want string) string {
	r.t.Helper()
	var msg string
	poll.Until(r.t, 60*time.Second, fmt.Sprintf("a FailedScheduling event of %s containing %q", p.Name, want), func() error {
		var evs corev1.EventList
		if err := cluster.Client.List(r.t.Context(), &evs, client.InNamespace(p.Namespace),
			client.MatchingFields{"involvedObject.name": p.Name, "reason": "FailedScheduling"}); err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if strings.Contains(e.Message, want) {
				msg = e.Message
				return nil
			}
			seen = append(seen, e.Message)
		}
		return fmt.Errorf("events: %s", strings.Join(seen, " | "))
	})
	return msg
}

func ptr[T any](v T) *T { return &v }

// allocate records an address of the rig's pool as the IPAM would.
func (r *rig) allocate(ip, podName, podUID, node string) {
	r.t.Helper()
	a := &railnetv1.IPAllocation{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%s", r.pool, strings.ReplaceAll(ip, ".", "-")),
			Labels: map[string]string{railnetv1.LabelPool: r.pool, railnetv1.LabelNode: node}},
		Spec: railnetv1.IPAllocationSpec{Pool: r.pool, IP: ip, PodNamespace: r.ns, PodName: podName, PodUID: podUID,
			Interface: "net1", Node: node},
	}
	create(r.t, a)
}

// grouped creates a pod of the rig's resource whose annotation names inject
// group group (none when empty).
func (r *rig) grouped(name, group string) *corev1.Pod {
	r.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "rdma-tools",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{r.resource: resource.MustParse("1")}}}}},
	}
	if group != "" {
		p.Annotations = map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: group}
	}
	create(r.t, p)
	return p
}

// annotateNamespace sets annotations on the rig's namespace until the test
// ends.
func (r *rig) annotateNamespace(ann map[string]string) {
	r.t.Helper()
	ctx := ctxT(r.t, 30*time.Second)
	ns := &corev1.Namespace{}
	if err := cluster.Client.Get(ctx, client.ObjectKey{Name: r.ns}, ns); err != nil {
		r.t.Fatal(err)
	}
	patch := client.MergeFrom(ns.DeepCopy())
	ns.Annotations = ann
	if err := cluster.Client.Patch(ctx, ns, patch); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.Client.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":null}}`))); err != nil {
			r.t.Errorf("clear annotations of namespace %s: %v", r.ns, err)
		}
	})
}

// setInjectConf writes conf.yaml of the webhook's ConfigMap, restored to
// the suite's when the test ends.
func setInjectConf(t *testing.T, conf string) {
	t.Helper()
	write := func(ctx context.Context, conf string) error {
		cm := &corev1.ConfigMap{}
		if err := cluster.Client.Get(ctx, injectConfigMap, cm); err != nil {
			return err
		}
		cm.Data = map[string]string{injectgroup.ConfigKey: conf}
		return cluster.Client.Update(ctx, cm)
	}
	if err := write(ctxT(t, 30*time.Second), conf); err != nil {
		t.Fatalf("write ConfigMap %s: %v", injectConfigMap, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := write(ctx, injectConf); err != nil {
			t.Errorf("restore ConfigMap %s: %v", injectConfigMap, err)
		}
	})
}

// waitFilter asks the extender's filter verb directly, until a pod of
// namespace ns naming inject group group fails on node with a reason
// containing want, or passes it when want is empty: the extender's caches
// follow the API server a moment later.
func waitFilter(t *testing.T, ns, group, node, want string) {
	t.Helper()
	nodes := []string{node}
	body, err := json.Marshal(extenderv1.ExtenderArgs{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe",
		Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: group}}}, NodeNames: &nodes})
	if err != nil {
		t.Fatal(err)
	}
	poll.Until(t, 30*time.Second, fmt.Sprintf("the filter of a pod of group %s in %s on %s to say %q", group, ns, node, want), func() error {
		var res extenderv1.ExtenderFilterResult
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, filterURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if got := res.FailedNodes[node] + res.FailedAndUnresolvableNodes[node]; want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			return fmt.Errorf("it says %q", got)
		}
		return nil
	})
}
