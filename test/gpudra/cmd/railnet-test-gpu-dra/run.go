package main

import (
	"context"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/railnet/railnet/nodeagent/discovery"
	"github.com/railnet/railnet/test/gpudra"
)

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
