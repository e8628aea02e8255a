package cputime

import (
	"syscall"
	"time"
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
// its thread (runtime.LockOSThread).
func Thread() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is RUSAGE_THREAD (Linux; the syscall package does not name it).
const rusageThread = 1
