// Command railnet-test-gpu-dra runs the test GPU DRA driver (package
// gpudra) on a test ground node: it discovers the GPUs of --sysfs-root and
// publishes them until SIGTERM.
package main

import (
	"context"
	"flag"
	"os"

	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/cmdline"
)

func main() {
	fs := flag.NewFlagSet("railnet-test-gpu-dra", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file")
	node := fs.String("node-name", "", "this node's name")
	sysfsRoot := fs.String("sysfs-root", "/", "folder standing for / when reading /sys")
	kubeletRoot := fs.String("kubelet-root", "/var/lib/kubelet", "the kubelet's root folder")
	klog.InitFlags(fs)
	_ = fs.Parse(os.Args[1:])
	cmdline.Main(fs.Name(), func(ctx context.Context) error { return run(ctx, *kubeconfig, *node, *sysfsRoot, *kubeletRoot) })
}
