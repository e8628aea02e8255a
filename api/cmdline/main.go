package cmdline

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is what a binary's main does once its flags are parsed: it runs run
// under a context that SIGINT and SIGTERM cancel and, when run fails,
// prints "name: err" on stderr and exits 1. It returns when run succeeds.
func Main(name string, run func(ctx context.Context) error) {
	if code := runMain(name, run, os.Stderr); code != 0 {
		os.Exit(code)
	}
}

// runMain is Main but for the exit: it returns the exit code.
func runMain(name string, run func(ctx context.Context) error, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
