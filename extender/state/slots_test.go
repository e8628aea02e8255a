package state

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/extender/placement"
)

func TestSlots(t *testing.T) {
	mk := func(uid, node string, n string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: corev1.PodSpec{NodeName: node,
			Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				gpu1: resource.MustParse(n), corev1.ResourceCPU: resource.MustParse("1")}}}}}}
	}
	s := NewSlots()
	s.Set(mk("a", "", "1")) // pending: nothing
	if got := s.InUse("n1"); got != nil {
		t.Fatalf("pending pod counted: %v", got)
	}
	s.Set(mk("a", "n1", "1"))
	s.Set(mk("b", "n1", "2"))
	held := s.InUse("n1")
	if want := (placement.Amounts{{Resource: gpu1, Value: 3}}); !reflect.DeepEqual(held, want) {
		t.Fatalf("in use %v, want %v (cpu is not an extended resource)", held, want)
	}
	done := mk("b", "n1", "2")
	done.Status.Phase = corev1.PodSucceeded
	s.Set(done)
	if got, _ := s.InUse("n1").Get(gpu1); got != 1 {
		t.Fatalf("after b finished: %d, want 1", got)
	}
	if got, _ := held.Get(gpu1); got != 3 {
		t.Fatal("a map handed out changed")
	}
	s.Set(mk("a", "n1", "1")) // resync: same state, no double count
	if got, _ := s.InUse("n1").Get(gpu1); got != 1 {
		t.Fatalf("after resync: %d, want 1", got)
	}
	s.Delete("a")
	if got := s.InUse("n1"); got != nil {
		t.Fatalf("after delete: %v", got)
	}
}
