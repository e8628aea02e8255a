package state

import (
	"fmt"
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

// TestSlotsSince follows the books' changes as the decider's node table
// does, and falls back to reading everything once the log no longer
// reaches back.
func TestSlotsSince(t *testing.T) {
	mk := func(uid, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: corev1.PodSpec{NodeName: node,
			Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{gpu1: resource.MustParse("1")}}}}}}
	}
	s := NewSlots()
	gen, ok := s.Since(0, nil)
	if gen != 0 || !ok {
		t.Fatalf("empty books: %d %v", gen, ok)
	}
	s.Set(mk("a", "n1"))
	s.Set(mk("b", "n2"))
	s.Set(mk("c", "")) // pending: no change
	seen := map[string]int64{}
	follow := func(node string, use placement.Amounts) { seen[node], _ = use.Get(gpu1) }
	if gen, ok = s.Since(gen, follow); gen != 2 || !ok || !reflect.DeepEqual(seen, map[string]int64{"n1": 1, "n2": 1}) {
		t.Fatalf("after two bindings: gen %d ok %v seen %v", gen, ok, seen)
	}
	clear(seen)
	if now, ok := s.Since(gen, follow); now != gen || !ok || len(seen) != 0 {
		t.Fatalf("nothing changed: gen %d ok %v seen %v", now, ok, seen)
	}
	s.Delete("a")
	if gen, ok = s.Since(gen, follow); gen != 3 || !ok || !reflect.DeepEqual(seen, map[string]int64{"n1": 0}) {
		t.Fatalf("after a is gone: gen %d ok %v seen %v", gen, ok, seen)
	}
	for i := range 3 * maxSlotsLog {
		s.Set(mk(fmt.Sprint("p", i), "n3"))
	}
	if _, ok := s.Since(gen, func(string, placement.Amounts) { t.Fatal("called for a change the log lost") }); ok {
		t.Fatal("a reader further behind than the log reaches must read everything anew")
	}
	if now, ok := s.Since(gen+3*maxSlotsLog-1, follow); now != gen+3*maxSlotsLog || !ok {
		t.Fatalf("a reader one change behind: gen %d ok %v", now, ok)
	}
	if got := seen["n3"]; got != 3*maxSlotsLog {
		t.Fatalf("n3's use %d, want %d", got, 3*maxSlotsLog)
	}
}
