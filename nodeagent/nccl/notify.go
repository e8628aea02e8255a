package nccl

import (
	"context"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// AnnotationWarning is put on a pod whose NCCL cannot be pointed at its own
// GIDs on every rail; its value is Conf.Warning, naming each rail's GID
// index.
const AnnotationWarning = "railnet.io/nccl-warning"

// ReasonGIDIndex is the reason of the event telling the same.
const ReasonGIDIndex = "NCCLGIDIndexMismatch"

// PodRef names a pod.
type PodRef struct {
	Namespace, Name, UID string
}

// PodWriter tells a pod: it puts AnnotationWarning on it and records a
// Warning event (the agent's API client).
type PodWriter interface {
	Warn(ctx context.Context, pod PodRef, warning string) error
}

// Notifier tells a pod, once its rails have settled, that NCCL cannot be
// pointed at its own GIDs — never silently, and once per pod and warning,
// not once per rail: the coordinator reports rails one at a time, so a
// warning is written when no further rail of the pod came for Settle.
type Notifier struct {
	Pods PodWriter
	// Settle defaults to 2s; Timeout bounds one write (default 30s).
	Settle, Timeout time.Duration

	mu      sync.Mutex
	pending map[string]*time.Timer
	told    map[string]string // pod UID → warning written
	wg      sync.WaitGroup
}

// Warn schedules warning for pod; an empty warning cancels a pending one.
func (n *Notifier) Warn(ctx context.Context, pod PodRef, warning string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending == nil {
		n.pending, n.told = map[string]*time.Timer{}, map[string]string{}
	}
	if t, ok := n.pending[pod.UID]; ok {
		if t.Stop() {
			n.wg.Done()
		}
		delete(n.pending, pod.UID)
	}
	if warning == "" || n.told[pod.UID] == warning || pod.Name == "" {
		return
	}
	settle, timeout := n.Settle, n.Timeout
	if settle == 0 {
		settle = 2 * time.Second
	}
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	log := klog.FromContext(ctx)
	n.wg.Add(1)
	n.pending[pod.UID] = time.AfterFunc(settle, func() {
		defer n.wg.Done()
		n.mu.Lock()
		delete(n.pending, pod.UID)
		n.mu.Unlock()
		wctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := n.Pods.Warn(wctx, pod, warning); err != nil {
			log.Error(err, "tell the pod that NCCL may use another pod's GID", "pod", pod.Namespace+"/"+pod.Name, "warning", warning)
			return
		}
		n.mu.Lock()
		n.told[pod.UID] = warning
		n.mu.Unlock()
	})
}

// Forget drops what the Notifier knows of a pod (its sandbox is gone).
func (n *Notifier) Forget(uid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if t, ok := n.pending[uid]; ok {
		if t.Stop() {
			n.wg.Done()
		}
		delete(n.pending, uid)
	}
	delete(n.told, uid)
}

// Wait waits for the writes already started or scheduled.
func (n *Notifier) Wait() { n.wg.Wait() }
