package cputime

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Process and Thread grow while the (locked) thread computes.
func TestGrows(t *testing.T) {
	for name, read := range map[string]func() time.Duration{"Process": Process, "Thread": Thread} {
		t.Run(name, func(t *testing.T) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before := read()
			if before == 0 {
				t.Fatal("the CPU time cannot be read")
			}
			x := 0
			for read() == before {
				for i := range 1 << 20 {
					x ^= i
				}
			}
			_ = x
			if read() <= before {
				t.Fatalf("CPU time did not grow from %v", before)
			}
		})
	}
}

// Of reads a process's CPU time: this one's grows as it computes, and a
// process that does not exist is an error naming it.
func TestOf(t *testing.T) {
	before, err := Of(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for now, err := Of(os.Getpid()); now <= before; now, err = Of(os.Getpid()) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1 << 20 {
			x ^= i
		}
	}
	_ = x
	if _, err := Of(1 << 30); err == nil || !strings.Contains(err.Error(), "process 1073741824") {
		t.Fatalf("Of a process that does not exist: %v", err)
	}
}
