package story

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
)

// sysProcAttr makes a component die with the test process, whatever ends it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

var logMu sync.Mutex

// prefixWriter writes each line of a component's output to w as
// "name: line".
func prefixWriter(w io.Writer, name string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			logMu.Lock()
			fmt.Fprintf(w, "%s: %s\n", name, s.Text())
			logMu.Unlock()
		}
	}()
	return pw
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
