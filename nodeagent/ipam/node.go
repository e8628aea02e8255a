package ipam

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	apiservice "github.com/railnet/railnet/api/service"
	"github.com/railnet/railnet/nodeagent/ipam/alloc"
	"github.com/railnet/railnet/nodeagent/ipam/collect"
	"github.com/railnet/railnet/nodeagent/ipam/poolstatus"
	"github.com/railnet/railnet/nodeagent/ipam/service"
	"github.com/railnet/railnet/nodeagent/metrics"
	"github.com/railnet/railnet/nodeagent/nccl"
)

// NodeService is the node agent's IPAM: the socket service for railnet-ipam,
// the garbage collector of the node's allocations, and — on the one agent
// holding the lease — the pools' counters.
type NodeService struct {
	Config *rest.Config
	Node   string
	Socket string
	// LeaseNamespace holds the Lease that elects the agent keeping pool
	// counters; empty keeps them nowhere (another component does it).
	LeaseNamespace string
	// GCGrace is how old an allocation of a gone pod must be to be released.
	GCGrace time.Duration
	// NCCL, when set, writes pods' NCCL conf files (package nccl).
	NCCL *nccl.Service
	// Metrics receives the IPAM's counts and, while this agent keeps the
	// pools' counters, the pools' sizes; nil records nothing.
	Metrics *metrics.IPAM
}

// Run serves until ctx ends.
func (n *NodeService) Run(ctx context.Context) error {
	s := scheme.New()
	c, err := cache.New(n.Config, cache.Options{Scheme: s, ByObject: map[client.Object]cache.ByObject{
		&corev1.Node{}: {Field: fields.OneTermEqualSelector("metadata.name", n.Node)},
	}})
	if err != nil {
		return fmt.Errorf("IPAM cache: %w", err)
	}
	cl, err := client.New(n.Config, client.Options{Scheme: s, Cache: &client.CacheOptions{Reader: c}})
	if err != nil {
		return err
	}
	live, err := client.New(n.Config, client.Options{Scheme: s})
	if err != nil {
		return err
	}
	if err := c.IndexField(ctx, &railnetv1.IPAllocation{}, alloc.PoolField, alloc.IndexByPool); err != nil {
		return fmt.Errorf("IPAM cache: index IPAllocations by pool: %w", err)
	}
	g, ctx := apiservice.NewGroup(ctx)
	g.Go("IPAM cache", c.Start)
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("IPAM cache did not sync")
	}
	allocator := &alloc.Allocator{Node: n.Node, Reader: cl, Writer: cl, Live: live, Metrics: n.Metrics, PoolIndexed: true}
	grace := n.GCGrace
	if grace == 0 {
		grace = 5 * time.Minute
	}
	svc := &service.Service{Socket: n.Socket, Allocator: allocator, NCCL: n.NCCL}
	if n.NCCL != nil {
		kube, err := kubernetes.NewForConfig(n.Config)
		if err != nil {
			return err
		}
		events := record.NewBroadcaster(record.WithContext(ctx))
		events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
		defer events.Shutdown()
		recorder := events.NewRecorder(s, corev1.EventSource{Component: "railnet-agent", Host: n.Node})
		svc.NCCLNotifier = &nccl.Notifier{Pods: podWarner{client: live, recorder: recorder}}
		defer svc.NCCLNotifier.Wait()
		g.Go("NCCL collector", func(ctx context.Context) error {
			return (&nccl.Collector{Service: n.NCCL, LivePods: livePods(live, n.Node), Grace: grace, Interval: time.Minute,
				Notifier: svc.NCCLNotifier}).Run(ctx)
		})
	}
	g.Go("IPAM socket", svc.Run)
	g.Go("IPAM collector", func(ctx context.Context) error {
		return (&collect.Collector{Node: n.Node, Reader: live, Writer: live, Grace: grace, Interval: time.Minute, Metrics: n.Metrics}).Run(ctx)
	})
	if n.LeaseNamespace != "" {
		cluster := &collect.Collector{Reader: live, Writer: live, Grace: grace, Interval: time.Minute, Metrics: n.Metrics}
		g.Go("pool counters", func(ctx context.Context) error { return n.lead(ctx, cl, cluster) })
	}
	return g.Wait()
}

// lead keeps pool counters and runs the cluster's collector while this
// agent holds the Lease.
func (n *NodeService) lead(ctx context.Context, cl client.Client, cluster *collect.Collector) error {
	kube, err := kubernetes.NewForConfig(n.Config)
	if err != nil {
		return err
	}
	id, _ := os.Hostname()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: n.LeaseNamespace, Name: "railnet-ipam-pool-status"},
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: n.Node + "/" + id},
	}
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: true,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				klog.FromContext(ctx).Info("keeping SpiderIPPool counters and collecting the cluster's leaked addresses", "node", n.Node)
				go func() { _ = cluster.Run(ctx) }()
				_ = (&poolstatus.Reconciler{Client: cl, Metrics: n.Metrics}).Run(ctx)
			},
			OnStoppedLeading: func() {},
		},
	})
	return nil
}
