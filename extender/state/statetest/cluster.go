package statetest

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/extender/placement"
)

// Group is the inject group of a Cluster's rails, and PodNamespace the
// namespace of its pods.
const (
	Group        = "gpu-macvlan"
	PodNamespace = "train"
)

// Cluster builds a MemStore of RDMA nodes on rails, the world the
// extender's, the plugin's and the benchmarks' tests share: rail r is the
// SpiderMultusConfig spiderpool/gpu<r>-macvlan (in Group, master eth<r>)
// with its RDMA resource and one IPv4 pool.
type Cluster struct {
	*MemStore
	// Rails are the rails' numbers, in order.
	Rails []int
	// Resources[i] is rail Rails[i]'s RDMA resource.
	Resources []corev1.ResourceName
	// Heartbeat is the RDMANodes' heartbeat time (now when built).
	Heartbeat metav1.Time
}

// NewCluster returns a cluster without nodes whose rail r (of rails) has
// the RDMA resource res(r) and the pool pool(r).
func NewCluster(rails []int, res func(r int) corev1.ResourceName, pool func(r int) *spiderv2beta1.SpiderIPPool) *Cluster {
	c := &Cluster{MemStore: &MemStore{Nodes: map[string]*corev1.Node{}, RDMANodes: map[string]*railnetv1.RDMANode{},
		Pools: map[string]*spiderv2beta1.SpiderIPPool{}}, Rails: rails, Heartbeat: metav1.NewTime(time.Now())}
	for _, r := range rails {
		p := pool(r)
		c.Pools[p.Name] = p
		c.Resources = append(c.Resources, res(r))
		smc := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: fmt.Sprintf("gpu%d-macvlan", r),
			Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: Group}}}
		smc.Spec.Macvlan = &spiderv2beta1.MacvlanConfig{Master: []string{fmt.Sprintf("eth%d", r)}, RDMAResourceName: string(res(r)),
			IPPools: &spiderv2beta1.PoolsConfig{IPv4: []string{p.Name}}}
		c.SMCs = append(c.SMCs, smc)
	}
	return c
}

// Pool returns an IPv4 pool named name over subnet handing out ips.
func Pool(name, subnet string, ips ...string) *spiderv2beta1.SpiderIPPool {
	return &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: spiderv2beta1.IPPoolSpec{Subnet: subnet, IPs: ips}}
}

// AddNode adds the Node name with labels and slots of every rail's resource
// allocatable, and its RDMANode: shared netns, the cluster's heartbeat and
// one NIC eth<r> per rail, link up (nothing else reported). It returns both
// for the caller to change before use.
func (c *Cluster) AddNode(name string, slots int64, labels map[string]string) (*corev1.Node, *railnetv1.RDMANode) {
	alloc := corev1.ResourceList{}
	rn := &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: railnetv1.RDMANodeStatus{NetnsMode: "shared", HeartbeatTime: &c.Heartbeat}}
	for i, r := range c.Rails {
		alloc[c.Resources[i]] = *resource.NewQuantity(slots, resource.DecimalSI)
		rn.Status.NICs = append(rn.Status.NICs, railnetv1.NIC{Netdev: fmt.Sprintf("eth%d", r), LinkState: "up"})
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Status: corev1.NodeStatus{Allocatable: alloc}}
	c.Nodes[name], c.RDMANodes[name] = n, rn
	return n, rn
}

// NewPod returns RDMAPod with one of every rail's resource.
func (c *Cluster) NewPod(name string, labels map[string]string) *corev1.Pod {
	return RDMAPod(name, labels, c.Resources...)
}

// RDMAPod returns a pending pod of PodNamespace (UID uid-<name>) that asks
// for Group's networks and, in limits only as users write it, one of each
// of res.
func RDMAPod(name string, labels map[string]string, res ...corev1.ResourceName) *corev1.Pod {
	limits := corev1.ResourceList{}
	for _, r := range res {
		limits[r] = resource.MustParse("1")
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: PodNamespace, Name: name, UID: types.UID("uid-" + name), Labels: labels,
			Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: Group}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Limits: limits}}}},
	}
}

// GPU cluster shape: GPURails rails per node, GPUPodsPerNode job pods on
// each node, GPUNodesPerBlock nodes per network block (and per job).
const (
	GPURails         = 8
	GPUPodsPerNode   = 4
	GPUNodesPerBlock = 32
)

// GPUResource is rail r's RDMA resource in a GPUCluster.
func GPUResource(r int) corev1.ResourceName {
	return corev1.ResourceName(fmt.Sprintf("spidernet.io/shared_cx7_gpu%d", r))
}

// GPUCluster builds n GPU nodes gpu-node-<i> (Names, in order) with
// GPURails rails each (100 slots per rail, NICs with RDMA ports, GID
// tables and GPUs at PIX), each in a block of GPUNodesPerBlock nodes and a
// spine of 8 blocks, GPUPodsPerNode bound pods of its block's job on each
// (one share and one address per rail), and one /16 pool per rail. Every
// 20th node has a rail down, every 50th a stale heartbeat. The store is
// frozen (MemStore.Freeze).
func GPUCluster(n int) (c *Cluster, names []string) {
	rails := make([]int, GPURails)
	for r := range rails {
		rails[r] = r
	}
	c = NewCluster(rails, GPUResource, func(r int) *spiderv2beta1.SpiderIPPool {
		p := Pool(fmt.Sprintf("gpu%d-net", r), fmt.Sprintf("10.%d.0.0/16", r), fmt.Sprintf("10.%d.0.1-10.%d.255.253", r, r))
		gw := fmt.Sprintf("10.%d.255.254", r)
		p.Spec.Gateway, p.Spec.ExcludeIPs = &gw, []string{fmt.Sprintf("10.%d.0.1-10.%d.0.10", r, r)}
		return p
	})
	stale := metav1.NewTime(c.Heartbeat.Add(-time.Hour))
	names = make([]string, n)
	ip := 11
	for i := range n {
		name := fmt.Sprintf("gpu-node-%05d", i)
		names[i] = name
		_, rn := c.AddNode(name, 100, map[string]string{
			placement.DefaultTopology.BlockKey: fmt.Sprintf("block-%d", i/GPUNodesPerBlock),
			placement.DefaultTopology.SpineKey: fmt.Sprintf("spine-%d", i/(GPUNodesPerBlock*8)),
		})
		for r := range rn.Status.NICs {
			nic := &rn.Status.NICs[r]
			rail := int32(r)
			nic.RDMADevice, nic.Port, nic.PortState, nic.Rail = fmt.Sprintf("mlx5_%d", r), 1, "ACTIVE", &rail
			nic.GIDTableSize, nic.GIDTableUsed, nic.GPUDistance = 256, 2+2*GPUPodsPerNode, railnetv1.DistancePIX
		}
		if i%20 == 7 {
			rn.Status.NICs[3].LinkState = "down"
		}
		if i%50 == 11 {
			rn.Status.HeartbeatTime = &stale
		}
		for k := range GPUPodsPerNode {
			job := fmt.Sprintf("job-%d", i/GPUNodesPerBlock)
			p := c.NewPod(fmt.Sprintf("%s-w%d", job, (i%GPUNodesPerBlock)*GPUPodsPerNode+k), map[string]string{"railnet.io/job": job})
			p.Spec.NodeName = name
			c.Pods = append(c.Pods, p)
			for r := range GPURails {
				a := fmt.Sprintf("10.%d.%d.%d", r, ip/250, ip%250+1)
				c.Allocs = append(c.Allocs, &railnetv1.IPAllocation{ObjectMeta: metav1.ObjectMeta{Name: a},
					Spec: railnetv1.IPAllocationSpec{Pool: fmt.Sprintf("gpu%d-net", r), IP: a, PodUID: string(p.UID), Node: name}})
			}
			ip++
		}
	}
	c.Freeze()
	return c, names
}
