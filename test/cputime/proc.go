package cputime

import (
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// Of is the CPU time (user and system) process pid has used, from
// /proc/<pid>/stat (clock ticks: 10 ms steps).
func Of(pid int) (time.Duration, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return time.Duration(st.CPUTime() * float64(time.Second)), nil
}
