// Command demo is railnet's main job on one machine (`make demo`, as root):
// it brings up the whole story of test/story — control plane, webhook,
// extender, two real nodes (kubelet + containerd, each in its own
// namespaces) with 8 rails each, their agents, Multus as their CNI — applies
// the seed guide's pools and
// network configs, deploys an annotated training job and shows where its
// pods landed, their rail interfaces and policy routing, then takes rail 3
// of one node down and shows the next pod going elsewhere, with the
// extender's reason. Everything it started is removed on exit or Ctrl-C.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := newRunner(ctx)
	code := r.run(func() { demo(r) })
	os.Exit(code)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
	os.Exit(1)
}
