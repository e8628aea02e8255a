package injectgroup_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/railnet/railnet/api/injectgroup"
	"github.com/railnet/railnet/api/injectgroup/injectgrouptest"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// TestRules drives Ask and Members through the shared table.
func TestRules(t *testing.T) {
	for _, tc := range injectgrouptest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			nsRead := false
			req, ok := injectgroup.Ask(injectgrouptest.PodNamespace, tc.PodAnnotations, func() map[string]string {
				nsRead = true
				return tc.NamespaceAnnotations
			}, tc.Config)
			if nsRead && injectgroup.Names(tc.PodAnnotations) {
				t.Errorf("namespace annotations read although the pod names its own group")
			}
			if !ok {
				if !tc.Skip {
					t.Fatalf("Ask() skipped the pod; want it injected or refused")
				}
				return
			}
			if tc.Skip {
				t.Fatalf("Ask() = %+v; want the pod skipped", req)
			}
			if req.FromNamespace != tc.FromNamespace {
				t.Errorf("FromNamespace = %v, want %v", req.FromNamespace, tc.FromNamespace)
			}
			all := func(string) []*spiderv2beta1.SpiderMultusConfig { return tc.Configs }
			members, err := injectgroup.Members(injectgroup.Pod{Namespace: injectgrouptest.PodNamespace, Name: injectgrouptest.PodName},
				req, all)
			if tc.Reason != "" {
				var r *injectgroup.Refusal
				if !errors.As(err, &r) {
					t.Fatalf("err = %v, want a *Refusal", err)
				}
				if r.Reason != tc.Reason || r.Error() != tc.Message {
					t.Errorf("refusal %s:\n%s\nwant %s:\n%s", r.Reason, r.Error(), tc.Reason, tc.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range members {
				got = append(got, m.Namespace+"/"+m.Name)
			}
			if !reflect.DeepEqual(got, tc.Want) {
				t.Errorf("members = %v, want %v", got, tc.Want)
			}
		})
	}
}

// Members checks the membership rule itself: candidates may be a superset
// (an index's answer is re-checked), and the same config met as two
// objects (two lookups of a cache) counts once.
func TestMembersCandidates(t *testing.T) {
	rdma := spiderv2beta1.AnnotationRDMAResourceInject
	a := injectgrouptest.Macvlan(1, "eth1", rdma, "a,b")
	other := injectgrouptest.Macvlan(2, "eth2", rdma, "c")
	lookup := func(string) []*spiderv2beta1.SpiderMultusConfig {
		return []*spiderv2beta1.SpiderMultusConfig{a.DeepCopy(), other}
	}
	req, _ := injectgroup.Lookup(map[string]string{rdma: "a,b"}, nil)
	got, err := injectgroup.Members(injectgroup.Pod{Namespace: "train", Name: "p"}, req, lookup)
	if err != nil || len(got) != 1 || got[0].Name != "gpu1-macvlan" {
		t.Fatalf("Members() = %v, %v; want gpu1-macvlan once", got, err)
	}
}

func TestPodString(t *testing.T) {
	for _, tt := range []struct {
		pod  injectgroup.Pod
		want string
	}{
		{injectgroup.Pod{Namespace: "train", Name: "worker-0"}, "train/worker-0"},
		{injectgroup.Pod{Namespace: "train", GenerateName: "trainer-7d9f-"}, "train/trainer-7d9f-*"},
		{injectgroup.Pod{Namespace: "train", Name: "worker-0", GenerateName: "trainer-7d9f-"}, "train/worker-0"},
	} {
		if got := tt.pod.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.pod, got, tt.want)
		}
	}
}
