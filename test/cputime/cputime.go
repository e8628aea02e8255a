package cputime

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is the CPU time (user and system) the process has used; 0 when
// it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Thread is the CPU time (user and system) the calling OS thread has used; 0
// when it cannot be read. Only meaningful while the goroutine is locked to
// its thread (runtime.LockOSThread). It is the thread's CPU clock, exact to
// the nanosecond: getrusage's figure for a thread is brought up to date only
// at scheduler ticks (1-4 ms), which made a single 2 ms cycle read as 0 or
// 4 ms.
func Thread() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
