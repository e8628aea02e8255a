package cputime

import (
	"runtime"
	"testing"
)

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

// Thread grows while the locked thread computes.
func TestThreadGrows(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := Thread()
	if before == 0 {
		t.Fatal("getrusage(RUSAGE_THREAD) failed")
	}
	x := 0
	for Thread() == before {
		for i := range 1 << 20 {
			x ^= i
		}
	}
	_ = x
	if Thread() <= before {
		t.Fatalf("thread CPU time did not grow from %v", before)
	}
}
