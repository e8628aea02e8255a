// Command railnet-test-gpu-dra runs the test GPU DRA driver (package
// gpudra) on a test ground node: it discovers the GPUs of --sysfs-root and
// publishes them until SIGTERM.
package main

import (
	"context"
	"flag"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/cmdline"
	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/test/gpudra"
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

func run(ctx context.Context, kubeconfig, node, sysfsRoot, kubeletRoot string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	links, err := discovery.OpenLinks("")
	if err != nil {
		return err
	}
	defer links.Close()
	n, err := discovery.Discover(discovery.Options{SysfsRoot: sysfsRoot, Links: links})
	if err != nil {
		return err
	}
	return gpudra.Run(ctx, gpudra.Options{NodeName: node, KubeClient: cs, KubeletRoot: kubeletRoot, SysfsRoot: sysfsRoot, GPUs: n.GPUs})
}
