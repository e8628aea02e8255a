package cputime

import "testing"

// Process grows while the process computes.
func TestProcessGrows(t *testing.T) {
	before := Process()
	if before == 0 {
		t.Fatal("getrusage failed")
	}
	x := 0
	for Process() == before {
		for i := range 1 << 20 {
			x ^= i
		}
	}
	_ = x
	if Process() <= before {
		t.Fatalf("CPU time did not grow from %v", before)
	}
}
