package cputime

import (
	"runtime"
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
