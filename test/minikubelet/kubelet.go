package minikubelet

import (
	"context"
	"errors"
	"io"
	"net/url"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Config describes one simulated node's kubelet.
type Config struct {
	// NodeName is the Node this kubelet reports and whose pods it runs. The
	// Node must exist (ground's CreateNode makes it).
	NodeName string
	// REST talks to the API server.
	REST *rest.Config
	// PluginDir is the device-plugin folder (kubelet.sock is created there).
	PluginDir string
	// NodeNetns is the path of the node's network namespace; CNI plugins run
	// inside it, as they would on the node's host namespace.
	NodeNetns string
	// CNIConfDir holds the node's CNI configuration; the first .conflist (in
	// name order) is used, as container runtimes do.
	CNIConfDir string
	// CNIBinDirs are searched for plugin binaries.
	CNIBinDirs []string
	// CNICacheDir is libcni's result cache.
	CNICacheDir string
	// Base is the node's non-device allocatable (cpu, memory, pods); when
	// empty, the Node's own values are kept.
	Base corev1.ResourceList
	// CNIStderr receives the CNI plugins' stderr (default os.Stderr).
	CNIStderr io.Writer
	// CNIEnv is added to every CNI plugin's environment (Multus passes it on
	// to its delegates), e.g. RAILNET_IPAM_SOCKET for this node's agent.
	CNIEnv []string
}

// Kubelet runs one simulated node.
type Kubelet struct {
	cfg     Config
	kube    kubernetes.Interface
	devices *devices
	queue   workqueue.TypedRateLimitingInterface[string]
	pods    cache.Indexer

	mu        sync.Mutex
	sandboxes map[string]*sandbox // by pod UID
	statusDue chan struct{}
}

// New checks cfg and returns a kubelet ready to Run.
func New(cfg Config) (*Kubelet, error) {
	if cfg.NodeName == "" || cfg.REST == nil || cfg.PluginDir == "" || cfg.NodeNetns == "" || cfg.CNIConfDir == "" || len(cfg.CNIBinDirs) == 0 {
		return nil, errors.New("minikubelet: NodeName, REST, PluginDir, NodeNetns, CNIConfDir and CNIBinDirs are required")
	}
	kube, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		return nil, err
	}
	k := &Kubelet{
		cfg: cfg, kube: kube,
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		sandboxes: map[string]*sandbox{},
		statusDue: make(chan struct{}, 1),
	}
	k.devices = newDevices(cfg.PluginDir, k.requestStatus)
	return k, nil
}

// Run serves device plugins, keeps the Node status current and runs the
// node's pods until ctx ends; then it tears every pod sandbox down.
func (k *Kubelet) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithValues("node", k.cfg.NodeName)
	ctx = klog.NewContext(ctx, log)
	u, err := url.Parse(k.cfg.REST.Host)
	if err != nil {
		return err
	}
	// The forwarder outlives ctx until the pods are torn down: CNI DEL
	// (Multus) still reads the API server then.
	fwdCtx, stopForward := context.WithCancel(context.WithoutCancel(ctx))
	defer stopForward()
	if err := forwardLoopback(fwdCtx, k.cfg.NodeNetns, u.Host); err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- k.devices.serve(ctx) }()

	lw := cache.NewListWatchFromClient(k.kube.CoreV1().RESTClient(), "pods", metav1.NamespaceAll,
		fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName))
	informer := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    k.enqueue,
		UpdateFunc: func(_, obj any) { k.enqueue(obj) },
		DeleteFunc: k.enqueue,
	})
	k.pods = informer.GetIndexer()
	go informer.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return ctx.Err()
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); k.statusLoop(ctx) }()
	go func() {
		defer wg.Done()
		wait.UntilWithContext(ctx, func(ctx context.Context) {
			for k.processNext(ctx) {
			}
		}, time.Second)
	}()
	go func() { <-ctx.Done(); k.queue.ShutDown() }()

	select {
	case err = <-errc:
	case <-ctx.Done():
		err = <-errc
	}
	wg.Wait()
	k.teardownAll()
	return err
}

func (k *Kubelet) enqueue(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err == nil {
		k.queue.Add(key)
	}
}

func (k *Kubelet) requestStatus() {
	select {
	case k.statusDue <- struct{}{}:
	default:
	}
}

// statusLoop writes the Node's device resources when they change and its
// Ready heartbeat every 10 s.
func (k *Kubelet) statusLoop(ctx context.Context) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		if err := k.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "update node status")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-k.statusDue:
		}
	}
}

func (k *Kubelet) updateNodeStatus(ctx context.Context) error {
	devCap, devAlloc := k.devices.resourceLists()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := k.kube.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		// cpu, memory, pods: Base when given, else what the Node says.
		capacity, allocatable := corev1.ResourceList{}, corev1.ResourceList{}
		for name, q := range node.Status.Capacity {
			if !isExtended(name) {
				capacity[name] = q
			}
		}
		for name, q := range node.Status.Allocatable {
			if !isExtended(name) {
				allocatable[name] = q
			}
		}
		for name, q := range k.cfg.Base {
			capacity[name], allocatable[name] = q, q
		}
		// Keep extended resources nobody serves any more at zero, as a
		// kubelet does once their plugin is gone.
		for name := range node.Status.Capacity {
			if _, base := k.cfg.Base[name]; !base && isExtended(name) {
				capacity[name], allocatable[name] = resource.MustParse("0"), resource.MustParse("0")
			}
		}
		for name, q := range devCap {
			capacity[name] = q
		}
		for name, q := range devAlloc {
			allocatable[name] = q
		}
		now := metav1.Now()
		node.Status.Capacity, node.Status.Allocatable = capacity, allocatable
		setReady(&node.Status, now)
		_, err = k.kube.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

func isExtended(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods, corev1.ResourceEphemeralStorage:
		return false
	}
	return true
}

func setReady(st *corev1.NodeStatus, now metav1.Time) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == corev1.NodeReady {
			if st.Conditions[i].Status != corev1.ConditionTrue {
				st.Conditions[i].LastTransitionTime = now
			}
			st.Conditions[i].Status = corev1.ConditionTrue
			st.Conditions[i].Reason = "MiniKubeletReady"
			st.Conditions[i].Message = "railnet test mini-kubelet is posting ready status"
			st.Conditions[i].LastHeartbeatTime = now
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "MiniKubeletReady",
		Message: "railnet test mini-kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	})
}

// RegisteredResources lists the device plugin resources registered now.
func (k *Kubelet) RegisteredResources() []string { return k.devices.registered() }

func (k *Kubelet) processNext(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.syncPod(ctx, key); err != nil {
		if ctx.Err() == nil {
			klog.FromContext(ctx).Error(err, "sync pod", "pod", key)
		}
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}
