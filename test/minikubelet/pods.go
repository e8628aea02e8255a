package minikubelet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sort"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// sandbox is a running pod: its network namespace, CNI result and devices.
type sandbox struct {
	id          string
	uid         string
	namespace   string
	name        string
	netns       ns.NetNS
	result      *types100.Result
	allocations []Allocation
}

// Sandbox is a read-only view of a running pod for tests.
type Sandbox struct {
	ContainerID string
	NetnsPath   string
	Result      *types100.Result
	Allocations []Allocation
}

// Sandbox returns the sandbox of the pod with uid, if it runs here.
func (k *Kubelet) Sandbox(uid string) (Sandbox, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.sandboxes[uid]
	if !ok {
		return Sandbox{}, false
	}
	return Sandbox{ContainerID: s.id, NetnsPath: s.netns.Path(), Result: s.result, Allocations: s.allocations}, true
}

func (k *Kubelet) syncPod(ctx context.Context, key string) error {
	obj, exists, err := k.pods.GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		k.teardownByKey(ctx, key)
		return nil
	}
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		if err := k.teardown(ctx, string(pod.UID)); err != nil {
			return err
		}
		// The kubelet confirms a graceful deletion once the pod is gone.
		zero := int64(0)
		err := k.kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero, Preconditions: metav1.NewUIDPreconditions(string(pod.UID)),
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
		return nil
	}
	k.mu.Lock()
	_, running := k.sandboxes[string(pod.UID)]
	k.mu.Unlock()
	if running {
		return nil
	}
	return k.setup(ctx, pod)
}

// setup admits the pod: devices, network namespace, CNI ADD, status.
func (k *Kubelet) setup(ctx context.Context, pod *corev1.Pod) (retErr error) {
	log := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod))
	allocs, err := k.devices.allocate(ctx, pod)
	if err != nil {
		k.event(ctx, pod, "UnexpectedAdmissionError", err.Error())
		return err
	}
	defer func() {
		if retErr != nil {
			k.devices.release(pod)
		}
	}()
	podNS, err := testutils.NewNS()
	if err != nil {
		return fmt.Errorf("create network namespace for pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	sb := &sandbox{id: newSandboxID(), uid: string(pod.UID), namespace: pod.Namespace, name: pod.Name, netns: podNS, allocations: allocs}
	defer func() {
		if retErr != nil {
			_ = podNS.Close()
			_ = testutils.UnmountNS(podNS)
		}
	}()
	list, err := k.confList()
	if err != nil {
		return err
	}
	var res cnitypes.Result
	err = ns.WithNetNSPath(k.cfg.NodeNetns, func(ns.NetNS) error {
		var err error
		res, err = k.cni().AddNetworkList(ctx, list, k.runtimeConf(sb))
		return err
	})
	if err != nil {
		msg := fmt.Sprintf("Failed to create pod sandbox: plugin type=%q failed (add): %v", list.Name, err)
		k.event(ctx, pod, "FailedCreatePodSandBox", msg)
		// Like a runtime, clean up whatever the chain half-did.
		_ = ns.WithNetNSPath(k.cfg.NodeNetns, func(ns.NetNS) error {
			return k.cni().DelNetworkList(ctx, list, k.runtimeConf(sb))
		})
		return fmt.Errorf("pod %s/%s: %s", pod.Namespace, pod.Name, msg)
	}
	result, err := types100.NewResultFromResult(res)
	if err != nil {
		return fmt.Errorf("pod %s/%s: CNI result: %w", pod.Namespace, pod.Name, err)
	}
	sb.result = result
	k.mu.Lock()
	k.sandboxes[sb.uid] = sb
	k.mu.Unlock()
	if err := k.writeRunning(ctx, pod, result); err != nil {
		return err
	}
	log.Info("pod running", "sandbox", sb.id[:12], "netns", podNS.Path())
	return nil
}

func (k *Kubelet) teardownByKey(ctx context.Context, key string) {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	k.mu.Lock()
	var uids []string
	for uid, s := range k.sandboxes {
		if s.namespace == ns && s.name == name {
			uids = append(uids, uid)
		}
	}
	k.mu.Unlock()
	for _, uid := range uids {
		if err := k.teardown(ctx, uid); err != nil {
			klog.FromContext(ctx).Error(err, "tear down pod", "pod", key)
		}
	}
}

// teardown runs CNI DEL, removes the namespace and frees the devices.
func (k *Kubelet) teardown(ctx context.Context, uid string) error {
	k.mu.Lock()
	sb, ok := k.sandboxes[uid]
	k.mu.Unlock()
	if !ok {
		return nil
	}
	list, err := k.confList()
	if err != nil {
		return err
	}
	err = ns.WithNetNSPath(k.cfg.NodeNetns, func(ns.NetNS) error {
		return k.cni().DelNetworkList(ctx, list, k.runtimeConf(sb))
	})
	if err != nil {
		return fmt.Errorf("CNI DEL for pod %s/%s: %w", sb.namespace, sb.name, err)
	}
	_ = sb.netns.Close()
	if err := testutils.UnmountNS(sb.netns); err != nil {
		return fmt.Errorf("remove network namespace of pod %s/%s: %w", sb.namespace, sb.name, err)
	}
	k.devices.release(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: k8stypes.UID(uid)}})
	k.mu.Lock()
	delete(k.sandboxes, uid)
	k.mu.Unlock()
	k.requestStatus()
	return nil
}

func (k *Kubelet) teardownAll() {
	k.mu.Lock()
	uids := make([]string, 0, len(k.sandboxes))
	for uid := range k.sandboxes {
		uids = append(uids, uid)
	}
	k.mu.Unlock()
	for _, uid := range uids {
		if err := k.teardown(context.Background(), uid); err != nil {
			klog.Background().Error(err, "tear down pod at exit")
		}
	}
}

func (k *Kubelet) cni() *libcni.CNIConfig {
	stderr := k.cfg.CNIStderr
	if stderr == nil {
		stderr = os.Stderr
	}
	return libcni.NewCNIConfigWithCacheDir(k.cfg.CNIBinDirs, k.cfg.CNICacheDir,
		&envExec{DefaultExec: &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: stderr}}, env: k.cfg.CNIEnv})
}

// envExec runs plugins like libcni's default, with the node's extra
// environment.
type envExec struct {
	*invoke.DefaultExec
	env []string
}

func (e *envExec) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	return e.DefaultExec.ExecPlugin(ctx, pluginPath, stdin, append(environ, e.env...))
}

// confList loads the node's network configuration the way container
// runtimes pick it: the first .conflist in name order.
func (k *Kubelet) confList() (*libcni.NetworkConfigList, error) {
	files, err := libcni.ConfFiles(k.cfg.CNIConfDir, []string{".conflist"})
	if err != nil {
		return nil, fmt.Errorf("read CNI configuration in %s: %w", k.cfg.CNIConfDir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .conflist in %s: the node's network is not ready", k.cfg.CNIConfDir)
	}
	sort.Strings(files)
	return libcni.ConfListFromFile(files[0])
}

func (k *Kubelet) runtimeConf(sb *sandbox) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: sb.id,
		NetNS:       sb.netns.Path(),
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "true"},
			{"K8S_POD_NAMESPACE", sb.namespace},
			{"K8S_POD_NAME", sb.name},
			{"K8S_POD_INFRA_CONTAINER_ID", sb.id},
			{"K8S_POD_UID", sb.uid},
		},
	}
}

// writeRunning reports the pod Running and Ready with the IPs of eth0.
func (k *Kubelet) writeRunning(ctx context.Context, pod *corev1.Pod, res *types100.Result) error {
	var ips []corev1.PodIP
	for _, ipc := range res.IPs {
		if ipc.Interface == nil || *ipc.Interface >= len(res.Interfaces) || res.Interfaces[*ipc.Interface].Name == "eth0" {
			ips = append(ips, corev1.PodIP{IP: ipc.Address.IP.String()})
		}
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := k.kube.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return fmt.Errorf("pod %s/%s was replaced", pod.Namespace, pod.Name)
		}
		now := metav1.Now()
		st := &cur.Status
		st.Phase = corev1.PodRunning
		st.HostIP = nodeHostIP
		st.HostIPs = []corev1.HostIP{{IP: nodeHostIP}}
		st.PodIPs = ips
		if len(ips) > 0 {
			st.PodIP = ips[0].IP
		}
		st.StartTime = &now
		for _, t := range []corev1.PodConditionType{corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
			setPodCondition(st, t, now)
		}
		st.ContainerStatuses = nil
		for _, c := range cur.Spec.Containers {
			st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, ImageID: "railnet-minikubelet://" + c.Image, Ready: true,
				State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
				ContainerID: "railnet-minikubelet://" + newSandboxID()[:32],
			})
		}
		_, err = k.kube.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// nodeHostIP is what the pod status reports as its host; simulated nodes
// have no routable address.
var nodeHostIP = net.IPv4(127, 0, 0, 1).String()

func setPodCondition(st *corev1.PodStatus, t corev1.PodConditionType, now metav1.Time) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status != corev1.ConditionTrue {
				st.Conditions[i].LastTransitionTime = now
			}
			st.Conditions[i].Status = corev1.ConditionTrue
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
}

// event records a Warning event on the pod, as the kubelet does for
// sandbox failures, so `kubectl describe pod` shows why it is stuck.
func (k *Kubelet) event(ctx context.Context, pod *corev1.Pod, reason, msg string) {
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, APIVersion: "v1",
		},
		Reason: reason, Message: msg, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: "kubelet", Host: k.cfg.NodeName},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := k.kube.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		klog.FromContext(ctx).Error(err, "record event", "pod", klog.KObj(pod), "reason", reason)
	}
}

func newSandboxID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
