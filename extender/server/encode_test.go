package server

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/railnet/railnet/extender/placement"
)

// The hand-written answers decode to what encoding/json's would.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	names := []string{"n1", "nöde-2", `quo"te`, "<&>", "tab\t", "ctl\x01", "bad\xffutf8", "\u2028"}
	reasons := map[string]string{"n1": "rail a: NIC eth1 is down on this node (link down)", `quo"te`: "x\\y <z>"}
	for _, res := range []extenderv1.ExtenderFilterResult{
		{NodeNames: &names, FailedNodes: reasons, FailedAndUnresolvableNodes: map[string]string{}},
		{NodeNames: &[]string{}, Error: "boom \"x\""},
		{},
		{Nodes: &corev1.NodeList{Items: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}}}},
	} {
		got, err := AppendFilterResult(nil, &res)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(&res)
		var g, w extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("hand-written %s\nencoding/json %s", got, want)
		}
		if res.FailedNodes == nil && res.Nodes == nil && string(got) != string(want) {
			t.Fatalf("hand-written %s\nencoding/json %s", got, want)
		}
	}
	list := extenderv1.HostPriorityList{{Host: "n1", Score: 10}, {Host: "n\"2", Score: -3}, {Host: "n3"}}
	for _, l := range []extenderv1.HostPriorityList{list, {}, nil} {
		want, _ := json.Marshal(l)
		if got := AppendPriorities(nil, l); string(got) != string(want) {
			t.Fatalf("hand-written %s\nencoding/json %s", got, want)
		}
		var scores []placement.HostScore // the decider's, written without a copy
		if l != nil {
			scores = []placement.HostScore{}
		}
		for _, p := range l {
			scores = append(scores, placement.HostScore{Host: p.Host, Score: p.Score})
		}
		if got := appendScores(nil, scores); string(got) != string(want) {
			t.Fatalf("scores written %s\nencoding/json %s", got, want)
		}
	}
}

// The fast decoder reads a full pod as encoding/json does.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "train", Name: "w0", UID: "u1", Labels: map[string]string{"railnet.io/job": "j"},
			Annotations:       map[string]string{"k8s.v1.cni.cncf.io/networks": `[{"name":"gpu1-macvlan","namespace":"spiderpool","interface":"net1"}]`},
			CreationTimestamp: metav1.Now()},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "img", Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{"spidernet.io/shared_cx5_gpu1": resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}},
			InitContainers: []corev1.Container{{Name: "s", RestartPolicy: &always, Resources: corev1.ResourceRequirements{
				Limits: corev1.ResourceList{"spidernet.io/shared_cx5_gpu2": resource.MustParse("2")}}}},
			Tolerations: []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}},
		},
	}
	names := []string{"a", "b\u00e9", `c"d`}
	body, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
	if err != nil {
		t.Fatal(err)
	}
	got, gotNames, err := DecodeArgs(strings.NewReader(string(body)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var want extenderv1.ExtenderArgs
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) || !reflect.DeepEqual(gotNames, names) {
		t.Fatalf("decoded %+v %v\nwant %+v", got, gotNames, want)
	}
}
