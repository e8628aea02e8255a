package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
)

// runner stands in for *testing.T so the demo runs the same ground, story
// and helpers as the end-to-end tests: Fatal stops the demo, Cleanup
// functions run in reverse order when it ends, however it ends.
type runner struct {
	ctx      context.Context
	cleanups []func()
	failed   bool
}

type fatal struct{ msg string }

func newRunner(ctx context.Context) *runner { return &runner{ctx: ctx} }

func (r *runner) Helper()                  {}
func (r *runner) Context() context.Context { return r.ctx }
func (r *runner) Cleanup(f func())         { r.cleanups = append(r.cleanups, f) }
func (r *runner) Fatal(args ...any)        { panic(fatal{fmt.Sprint(args...)}) }
func (r *runner) Fatalf(format string, args ...any) {
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (r *runner) Errorf(format string, args ...any) {
	r.failed = true
	fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
}

func (r *runner) TempDir() string {
	d, err := os.MkdirTemp("", "railnet-demo-")
	if err != nil {
		r.Fatal(err)
	}
	r.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// run calls f and then the cleanups; it returns the exit code.
func (r *runner) run(f func()) (code int) {
	defer func() {
		if v := recover(); v != nil {
			if fe, ok := v.(fatal); ok {
				fmt.Fprintln(os.Stderr, "demo:", fe.msg)
			} else {
				fmt.Fprintf(os.Stderr, "demo: panic: %v\n%s", v, debug.Stack())
			}
			code = 1
		}
		fmt.Fprintln(os.Stderr, "demo: cleaning up everything it started")
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			r.cleanups[i]()
		}
		if r.failed && code == 0 {
			code = 1
		}
	}()
	f()
	return 0
}
