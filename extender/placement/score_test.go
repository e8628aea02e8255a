package placement

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func TestScore(t *testing.T) {
	topo := DefaultTopology
	at := func(name, block, spine string) fixture {
		n := healthy(name)
		n.node.Labels = map[string]string{topo.BlockKey: block, topo.SpineKey: spine}
		return n
	}
	peer := func(block, spine string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "peer", Labels: map[string]string{topo.BlockKey: block, topo.SpineKey: spine}}}
	}
	half := func(n fixture) fixture {
		n.bound = map[corev1.ResourceName]int64{res1: 49, res2: 49} // 50 of 100 after the pod
		return n
	}
	far := func(n fixture) fixture {
		n.rdma.Status.NICs[1].GPUDistance = railnetv1.DistanceSYS
		return n
	}
	// A job spread over more blocks than a short list holds.
	var many []*corev1.Node
	for i := range 2 * maxLabelList {
		many = append(many, peer(fmt.Sprintf("b%d", 10+i), "s9"))
	}
	tests := []struct {
		name  string
		pod   Pod
		node  fixture
		peers []*corev1.Node
		want  int64
	}{
		{name: "same block as one of many peers", pod: twoRailPod(), node: far(at("n", fmt.Sprintf("b%d", 9+2*maxLabelList), "s1")), peers: many, want: 6},
		{name: "a block none of many peers is in", pod: twoRailPod(), node: far(at("n", "b1", "s1")), peers: many, want: 0},
		{name: "same spine as many peers", pod: twoRailPod(), node: far(at("n", "b1", "s9")), peers: many, want: 3},
		{name: "no rails scores zero", pod: Pod{Ref: "a/b"}, node: healthy("n"), want: 0},
		{name: "unknown node scores zero", pod: twoRailPod(), node: fixture{name: "ghost"}, want: 0},
		{name: "empty node, GPU near", pod: twoRailPod(), node: at("n", "b1", "s1"), want: 1},
		{name: "empty node, a NIC far from GPUs", pod: twoRailPod(), node: far(at("n", "b1", "s1")), want: 0},
		{name: "half full packs", pod: twoRailPod(), node: far(half(at("n", "b1", "s1"))), want: 2},
		{name: "same block as a peer", pod: twoRailPod(), node: far(at("n", "b1", "s1")), peers: []*corev1.Node{peer("b1", "s1")}, want: 6},
		{name: "same spine only", pod: twoRailPod(), node: far(at("n", "b2", "s1")), peers: []*corev1.Node{peer("b1", "s1")}, want: 3},
		{name: "other spine", pod: twoRailPod(), node: far(at("n", "b3", "s2")), peers: []*corev1.Node{peer("b1", "s1")}, want: 0},
		{name: "node without topology labels", pod: twoRailPod(), node: far(healthy("n")), peers: []*corev1.Node{peer("", "")}, want: 0},
		{name: "everything", pod: twoRailPod(),
			node: func() fixture {
				n := at("n", "b1", "s1")
				n.bound = map[corev1.ResourceName]int64{res1: 99, res2: 99}
				return n
			}(),
			peers: []*corev1.Node{peer("b1", "s1")}, want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Score(tt.pod, []NodeState{tt.node.state()}, tt.peers, topo)
			if len(got) != 1 || got[0].Host != tt.node.name || got[0].Score != tt.want {
				t.Fatalf("score %+v, want %s=%d", got, tt.node.name, tt.want)
			}
		})
	}
}

// Locality outranks packing, packing outranks GPU affinity.
func TestScoreOrder(t *testing.T) {
	topo := DefaultTopology
	near := healthy("same-block-empty")
	near.node.Labels = map[string]string{topo.BlockKey: "b1"}
	near.rdma.Status.NICs[0].GPUDistance = railnetv1.DistanceSYS
	full := healthy("other-block-full")
	full.node.Labels = map[string]string{topo.BlockKey: "b2"}
	full.bound = map[corev1.ResourceName]int64{res1: 99, res2: 99}
	peers := []*corev1.Node{{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{topo.BlockKey: "b1"}}}}
	got := Score(twoRailPod(), states(near, full), peers, topo)
	if got[0].Score <= got[1].Score {
		t.Fatalf("same block %d should beat a full node elsewhere %d", got[0].Score, got[1].Score)
	}
	packed, affine := healthy("packed"), healthy("affine")
	packed.rdma.Status.NICs[0].GPUDistance = railnetv1.DistanceSYS
	packed.bound = map[corev1.ResourceName]int64{res1: 60, res2: 60}
	got = Score(twoRailPod(), states(packed, affine), nil, topo)
	if got[0].Score <= got[1].Score {
		t.Fatalf("packed %d should beat GPU-affine empty %d", got[0].Score, got[1].Score)
	}
}

func TestRequestAndJobKey(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: map[string]string{"batch.kubernetes.io/job-name": "j", "volcano.sh/job-name": "v"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{
				{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{res1: resource.MustParse("1")}}},
				{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{res1: resource.MustParse("2")}}},
			},
			InitContainers: []corev1.Container{
				{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{res1: resource.MustParse("5"), res2: resource.MustParse("1")}}},
				{RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{res2: resource.MustParse("1")}}},
			},
		},
	}
	if got := Request(pod, res1); got != 5 {
		t.Errorf("request of %s = %d, want 5 (init container larger than the sum)", res1, got)
	}
	if got := Request(pod, res2); got != 1 {
		t.Errorf("request of %s = %d, want 1 (the sidecar starts after the init container has finished)", res2, got)
	}
	if got := JobKey(pod); got != "ns/batch.kubernetes.io/job-name=j" {
		t.Errorf("job key %q", got)
	}
	pod.Labels["railnet.io/job"] = "r"
	if got := JobKey(pod); got != "ns/railnet.io/job=r" {
		t.Errorf("job key %q", got)
	}
	if got := JobKey(&corev1.Pod{}); got != "" {
		t.Errorf("job key of a lone pod %q", got)
	}
}

// A ScoreMemo gives Score's result, and is used only while the node's
// facts, the pod's shape and the generation of the node's use are those
// it was filled for: each step below changes one of them (and the score,
// so a memo that missed the change would give the old one), or only the
// job's peers, whose locality the memo does not hold.
func TestScoreMemo(t *testing.T) {
	topo := DefaultTopology
	labelled := healthy("n")
	labelled.node.Labels = map[string]string{topo.BlockKey: "b1"}
	facts := NewNodeFacts(labelled.node, labelled.rdma)
	big := labelled.node.DeepCopy()
	big.Status.Allocatable = corev1.ResourceList{res1: resource.MustParse("200"), res2: resource.MustParse("200")}
	bigFacts := NewNodeFacts(big, labelled.rdma)
	wide := twoRailPod()
	wide.Requests = map[corev1.ResourceName]int64{res1: 50, res2: 50}
	peer := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "peer", Labels: map[string]string{topo.BlockKey: "b1"}}}
	steps := []struct {
		name  string
		pod   Pod
		peers []*corev1.Node
		facts *NodeFacts
		gen   int64
		bound map[corev1.ResourceName]int64
		hit   bool // the memo holds the parts
		want  int64
	}{
		{name: "first", pod: twoRailPod(), facts: facts, gen: 1, want: 1},
		{name: "nothing changed", pod: twoRailPod(), facts: facts, gen: 1, hit: true, want: 1},
		{name: "use changed (new generation)", pod: twoRailPod(), facts: facts, gen: 2, bound: map[corev1.ResourceName]int64{res1: 98, res2: 98}, want: 4},
		{name: "facts changed (more slots)", pod: twoRailPod(), facts: bigFacts, gen: 2, bound: map[corev1.ResourceName]int64{res1: 98, res2: 98}, want: 2},
		{name: "pod shape changed", pod: wide, facts: bigFacts, gen: 2, bound: map[corev1.ResourceName]int64{res1: 98, res2: 98}, want: 3},
		{name: "only the job's peers changed", pod: wide, peers: []*corev1.Node{peer}, facts: bigFacts, gen: 2, bound: map[corev1.ResourceName]int64{res1: 98, res2: 98}, hit: true, want: 9},
		{name: "back to the first shape", pod: twoRailPod(), facts: bigFacts, gen: 2, bound: map[corev1.ResourceName]int64{res1: 98, res2: 98}, want: 2},
	}
	var m ScoreMemo
	for _, st := range steps {
		s := NewNodeScorer(st.pod, st.peers, topo)
		bound := AmountsOf(st.bound)
		full := s.Score(st.facts, bound, nil)
		got, hit := s.ScoreRemembered(&m, st.facts, UseGen(st.gen))
		if !hit {
			got = s.ScoreAndRemember(&m, st.facts, UseGen(st.gen), bound, nil)
		}
		if got != full || full != st.want || hit != st.hit {
			t.Fatalf("%s: remembered %d (from the memo %t), Score %d; want %d (from the memo %t)", st.name, got, hit, full, st.want, st.hit)
		}
	}
	// No rails, or a node the store does not know: 0, nothing to remember.
	s := NewNodeScorer(Pod{Ref: "a/b"}, nil, topo)
	if got, ok := s.ScoreRemembered(&m, facts, UseGen(1)); got != 0 || !ok {
		t.Fatalf("pod without rails: %d %t", got, ok)
	}
	if got := NewNodeScorer(twoRailPod(), nil, topo).ScoreAndRemember(&m, nil, UseGen(1), nil, nil); got != 0 {
		t.Fatalf("unknown node: %d", got)
	}
}
