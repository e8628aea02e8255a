package ground

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// coldBuildTimeout bounds a first build of the control plane on 2 cores.
const coldBuildTimeout = 30 * time.Minute

// Start launches a cluster for one test (or benchmark) and stops it when the
// test ends.
func Start(tb TB, opts Options) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), coldBuildTimeout)
	defer cancel()
	c, err := Launch(ctx, opts)
	if err != nil {
		tb.Fatalf("start the test ground: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// RunMain is for TestMain: it launches one cluster shared by every test of
// the package, stores it in *c, runs the tests, stops the cluster and exits
// with the tests' code.
func RunMain(m *testing.M, opts Options, c **Cluster) {
	os.Exit(runMain(m, opts, c))
}

func runMain(m *testing.M, opts Options, c **Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), coldBuildTimeout)
	cl, err := Launch(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the test ground: %v\n", err)
		return 1
	}
	defer cl.Stop()
	*c = cl
	return m.Run()
}
