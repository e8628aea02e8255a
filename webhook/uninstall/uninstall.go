package uninstall

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/webhook/nad"
	"github.com/railnet/railnet/webhook/registration"
)

// Options name the release's run-time objects; the chart passes the names
// it gave them.
type Options struct {
	Namespace string
	// ComponentPods selects the release's component pods (agents,
	// webhook, extender) in Namespace; cleaning starts once none is left,
	// so no agent writes a label back.
	ComponentPods labels.Selector
	Secrets       []string
	ConfigMaps    []string
	Leases        []string
	// Wait bounds the wait for the component pods.
	Wait time.Duration
}

// Run waits for the release's pods to be gone, then removes everything
// railnet made, and returns a line per kind of what it removed.
func Run(ctx context.Context, c client.Client, o Options) ([]string, error) {
	log := klog.FromContext(ctx)
	if err := waitPodsGone(ctx, c, o); err != nil {
		return nil, err
	}
	var report []string
	note := func(format string, args ...any) {
		report = append(report, fmt.Sprintf(format, args...))
		log.Info(report[len(report)-1])
	}

	var rns railnetv1.RDMANodeList
	if err := c.List(ctx, &rns); err != nil {
		return report, fmt.Errorf("list RDMANodes: %w", err)
	}
	for i := range rns.Items {
		if err := client.IgnoreNotFound(c.Delete(ctx, &rns.Items[i])); err != nil {
			return report, fmt.Errorf("delete RDMANode %s: %w", rns.Items[i].Name, err)
		}
	}
	note("deleted %d RDMANodes", len(rns.Items))

	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes); err != nil {
		return report, fmt.Errorf("list Nodes: %w", err)
	}
	n, err := dropLabels(ctx, c, nodes.Items, railnetv1.IsNodeLabel)
	if err != nil {
		return report, err
	}
	note("removed railnet's rail labels from %d Nodes", n)

	var nss corev1.NamespaceList
	if err := c.List(ctx, &nss, client.HasLabels{registration.NamespaceLabel}); err != nil {
		return report, fmt.Errorf("list Namespaces: %w", err)
	}
	n, err = dropLabels(ctx, c, nss.Items, func(k string) bool { return k == registration.NamespaceLabel })
	if err != nil {
		return report, err
	}
	note("removed %s from %d Namespaces", registration.NamespaceLabel, n)

	var nads nadv1.NetworkAttachmentDefinitionList
	if err := c.List(ctx, &nads, client.MatchingLabels{nad.LabelManagedBy: nad.ManagedBy}); err != nil {
		return report, fmt.Errorf("list NetworkAttachmentDefinitions: %w", err)
	}
	for i := range nads.Items {
		if err := client.IgnoreNotFound(c.Delete(ctx, &nads.Items[i])); err != nil {
			return report, fmt.Errorf("delete NetworkAttachmentDefinition %s/%s: %w", nads.Items[i].Namespace, nads.Items[i].Name, err)
		}
	}
	note("deleted %d NetworkAttachmentDefinitions rendered by railnet", len(nads.Items))

	var gone []string
	named := namedObjects(o)
	for _, obj := range named {
		err := c.Delete(ctx, obj)
		if client.IgnoreNotFound(err) != nil {
			return report, fmt.Errorf("delete %T %s/%s: %w", obj, o.Namespace, obj.GetName(), err)
		}
		if err == nil {
			gone = append(gone, obj.GetName())
		}
	}
	note("deleted %d of %d named objects in %s: %s", len(gone), len(named), o.Namespace, strings.Join(gone, ", "))
	return report, nil
}

func namedObjects(o Options) []client.Object {
	var out []client.Object
	for _, n := range o.Secrets {
		out = append(out, &corev1.Secret{})
		out[len(out)-1].SetName(n)
	}
	for _, n := range o.ConfigMaps {
		out = append(out, &corev1.ConfigMap{})
		out[len(out)-1].SetName(n)
	}
	for _, n := range o.Leases {
		out = append(out, &coordinationv1.Lease{})
		out[len(out)-1].SetName(n)
	}
	for _, obj := range out {
		obj.SetNamespace(o.Namespace)
	}
	return out
}

// dropLabels removes the labels drop selects from each object (a merge
// patch that sets them to null) and returns how many objects it changed.
func dropLabels[T any, PT interface {
	*T
	client.Object
}](ctx context.Context, c client.Client, items []T, drop func(string) bool) (int, error) {
	changed := 0
	for i := range items {
		obj := PT(&items[i])
		patch := LabelRemoval(obj.GetLabels(), drop)
		if patch == nil {
			continue
		}
		if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
			return changed, fmt.Errorf("remove railnet's labels from %T %s: %w", obj, obj.GetName(), err)
		}
		changed++
	}
	return changed, nil
}

// LabelRemoval is the merge patch removing the labels drop selects, nil
// when there are none.
func LabelRemoval(labels map[string]string, drop func(string) bool) []byte {
	var keys []string
	for k := range labels {
		if drop(k) {
			keys = append(keys, fmt.Sprintf("%q:null", k))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	return []byte(`{"metadata":{"labels":{` + strings.Join(keys, ",") + `}}}`)
}

func waitPodsGone(ctx context.Context, c client.Client, o Options) error {
	deadline := time.Now().Add(o.Wait)
	for {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(o.Namespace), client.MatchingLabelsSelector{Selector: o.ComponentPods}); err != nil {
			return fmt.Errorf("list the release's pods: %w", err)
		}
		if len(pods.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var names []string
			for _, p := range pods.Items {
				names = append(names, p.Name)
			}
			return fmt.Errorf("the release's pods %s are still there after %s; delete them, then run the cleanup again", strings.Join(names, ", "), o.Wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
