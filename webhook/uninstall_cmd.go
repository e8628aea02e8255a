package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/webhook/uninstall"
)

type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runUninstall is `railnet-webhook uninstall`: the chart's post-delete hook.
func runUninstall(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("uninstall", flag.ExitOnError)
	var o uninstall.Options
	var secrets, configMaps, leases listFlag
	fs.StringVar(&o.Namespace, "namespace", "", "the release's namespace")
	selector := fs.String("component-pods", "", "label selector of the release's component pods, waited for before cleaning")
	fs.Var(&secrets, "secret", "Secret to delete (repeatable)")
	fs.Var(&configMaps, "configmap", "ConfigMap to delete (repeatable)")
	fs.Var(&leases, "lease", "Lease to delete (repeatable)")
	fs.DurationVar(&o.Wait, "wait", 3*time.Minute, "how long to wait for the component pods to be gone")
	_ = fs.Parse(args)
	if o.Namespace == "" || *selector == "" {
		return fmt.Errorf("--namespace and --component-pods are required")
	}
	sel, err := labels.Parse(*selector)
	if err != nil {
		return fmt.Errorf("--component-pods=%q: %w", *selector, err)
	}
	o.ComponentPods, o.Secrets, o.ConfigMaps, o.Leases = sel, secrets, configMaps, leases
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	report, err := uninstall.Run(ctx, c, o)
	for _, line := range report {
		fmt.Println(line)
	}
	return err
}
