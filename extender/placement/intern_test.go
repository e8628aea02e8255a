package placement

import (
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
)

// Equal strings built apart intern to one copy, so comparing them reads no
// bytes; a different string keeps its own.
func TestIntern(t *testing.T) {
	a := intern(strings.Repeat("rail\x00eth1", 20))
	b := intern(strings.Repeat("rail\x00eth1", 20))
	c := intern(strings.Repeat("rail\x00eth2", 20))
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("equal strings interned to two copies")
	}
	if c == a || unsafe.StringData(c) == unsafe.StringData(a) {
		t.Fatal("different strings interned to one")
	}
	if r := Intern("example.com/gpu"); unsafe.StringData(string(r)) != unsafe.StringData(string(Intern(corev1.ResourceName(strings.Clone("example.com/gpu"))))) {
		t.Fatal("resource names interned to two copies")
	}
}
