package state

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/extender/placement"
)

// Jobs keeps, per job (placement.JobKey), the nodes its bound,
// non-terminated pods run on. It is updated from pod events, so scoring a
// pod of a job of thousands reads the job's nodes instead of walking its
// pods.
type Jobs struct {
	mu    sync.Mutex
	byJob map[string]map[string]int // job → node → pods of the job there
	byPod map[types.UID]jobPod
}

type jobPod struct{ job, node string }

// NewJobs returns empty books.
func NewJobs() *Jobs {
	return &Jobs{byJob: map[string]map[string]int{}, byPod: map[types.UID]jobPod{}}
}

// Set records the pod's current state.
func (j *Jobs) Set(pod *corev1.Pod) {
	var now jobPod
	if pod.Spec.NodeName != "" && !placement.Terminated(pod) {
		if job := placement.JobKey(pod); job != "" {
			now = jobPod{job: job, node: pod.Spec.NodeName}
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	old, had := j.byPod[pod.UID]
	if had && old == now {
		return
	}
	if had {
		j.drop(pod.UID, old)
	}
	if now.job != "" {
		j.byPod[pod.UID] = now
		nodes := j.byJob[now.job]
		if nodes == nil {
			nodes = map[string]int{}
			j.byJob[now.job] = nodes
		}
		nodes[now.node]++
	}
}

// Delete forgets the pod.
func (j *Jobs) Delete(uid types.UID) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if old, had := j.byPod[uid]; had {
		j.drop(uid, old)
	}
}

func (j *Jobs) drop(uid types.UID, p jobPod) {
	delete(j.byPod, uid)
	nodes := j.byJob[p.job]
	if nodes[p.node]--; nodes[p.node] <= 0 {
		delete(nodes, p.node)
	}
	if len(nodes) == 0 {
		delete(j.byJob, p.job)
	}
}

// Nodes appends to out the nodes that run pods of job other than the pod
// except, in no particular order.
func (j *Jobs) Nodes(job string, except types.UID, out []string) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	self, isSelf := j.byPod[except]
	for node, n := range j.byJob[job] {
		if isSelf && self.job == job && self.node == node && n == 1 {
			continue
		}
		out = append(out, node)
	}
	return out
}
