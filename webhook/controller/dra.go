package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/nad"
)

// DRAWant is what railnet keeps in the cluster for its DRA-mode inject
// groups: each group's network and, in each namespace that uses a group,
// its claim templates for 1 … drainject.MaxGPUs GPUs.
type DRAWant struct {
	Networks  []*nadv1.NetworkAttachmentDefinition
	Templates []*resourceapi.ResourceClaimTemplate
	// Problems say why a group gets nothing (mixed modes, members that
	// cannot make one network: drainject.GroupIsDRA, nad.DRARails); the
	// controller logs them and the admission handler refuses the group's
	// pods with the same words.
	Problems []string
}

// PlanDRA computes DRAWant from the cluster's SpiderMultusConfigs and
// namespaces. A namespace uses a group when its inject annotation or its
// drainject.TemplatesAnnotation names it. Templates pair GPUs of gpuClass
// with rails of railClass (drainject.PairedClaimTemplate).
func PlanDRA(configs []*spiderv2beta1.SpiderMultusConfig, namespaces []corev1.Namespace, gpuClass, railClass string) DRAWant {
	var want DRAWant
	type keyed struct{ key, group string }
	var asked []keyed
	for _, smc := range configs {
		if smc.Annotations[drainject.ModeAnnotation] != drainject.ModeDRA {
			continue
		}
		for _, key := range injectgroup.Keys {
			for _, g := range injectgroup.SplitGroups(smc.Annotations[key]) {
				if !slices.Contains(asked, keyed{key, g}) {
					asked = append(asked, keyed{key, g})
				}
			}
		}
	}
	masters := nad.RailMasters(configs)
	var groups []string
	for _, kg := range asked {
		var members []*spiderv2beta1.SpiderMultusConfig
		for _, smc := range configs {
			if injectgroup.InGroup(smc, kg.key, kg.group) {
				members = append(members, smc)
			}
		}
		if _, err := drainject.GroupIsDRA(members, kg.group); err != nil {
			want.Problems = append(want.Problems, err.Error())
			continue
		}
		n, err := nad.RenderDRA(kg.group, members, masters)
		if err != nil {
			want.Problems = append(want.Problems, err.Error())
			continue
		}
		if !slices.Contains(groups, kg.group) {
			groups = append(groups, kg.group)
			want.Networks = append(want.Networks, n)
		}
	}
	for _, ns := range namespaces {
		var named []string
		if req, ok := injectgroup.Lookup(nil, ns.Annotations); ok {
			named = req.Groups
		}
		named = append(named, injectgroup.SplitGroups(ns.Annotations[drainject.TemplatesAnnotation])...)
		var done []string
		for _, g := range named {
			if !slices.Contains(groups, g) || slices.Contains(done, g) {
				continue
			}
			done = append(done, g)
			for k := 1; k <= drainject.MaxGPUs; k++ {
				tpl, err := drainject.PairedClaimTemplate(ns.Name, drainject.TemplateName(g, k), gpuClass, railClass, k)
				if err != nil { // k ≥ 1: cannot happen
					want.Problems = append(want.Problems, err.Error())
					continue
				}
				tpl.Labels = map[string]string{nad.LabelManagedBy: nad.ManagedBy, nad.LabelDRAGroup: g}
				want.Templates = append(want.Templates, tpl)
			}
		}
	}
	return want
}

// DRAReconciler keeps what PlanDRA wants: it creates and updates the
// networks and templates, and deletes the ones it made that are no longer
// wanted. Every change of a SpiderMultusConfig, namespace, or of what it
// made, runs one pass over the cluster.
type DRAReconciler struct {
	Client client.Client
	// GPUClass and RailClass are the DeviceClasses the templates ask for.
	GPUClass, RailClass string
}

// SetupWithManager registers the reconciler.
func (r *DRAReconciler) SetupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: "dra-mode"}}}
	})
	return ctrl.NewControllerManagedBy(mgr).Named("dra-mode").
		Watches(&spiderv2beta1.SpiderMultusConfig{}, one).Watches(&corev1.Namespace{}, one).
		Watches(&nadv1.NetworkAttachmentDefinition{}, one).Watches(&resourceapi.ResourceClaimTemplate{}, one).
		Complete(r)
}

// Reconcile makes one pass.
func (r *DRAReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	log := klog.FromContext(ctx)
	var smcs spiderv2beta1.SpiderMultusConfigList
	if err := r.Client.List(ctx, &smcs); err != nil {
		return ctrl.Result{}, fmt.Errorf("list SpiderMultusConfigs: %w", err)
	}
	configs := make([]*spiderv2beta1.SpiderMultusConfig, 0, len(smcs.Items))
	for i := range smcs.Items {
		if smcs.Items[i].DeletionTimestamp.IsZero() {
			configs = append(configs, &smcs.Items[i])
		}
	}
	var nss corev1.NamespaceList
	if err := r.Client.List(ctx, &nss); err != nil {
		return ctrl.Result{}, fmt.Errorf("list namespaces: %w", err)
	}
	want := PlanDRA(configs, nss.Items, r.GPUClass, r.RailClass)
	for _, p := range want.Problems {
		log.Info("DRA-mode inject group not served", "problem", p)
	}
	var errs []error
	mine := client.HasLabels{nad.LabelDRAGroup}
	var nads nadv1.NetworkAttachmentDefinitionList
	if err := r.Client.List(ctx, &nads, mine); err != nil {
		return ctrl.Result{}, fmt.Errorf("list NetworkAttachmentDefinitions: %w", err)
	}
	for _, n := range want.Networks {
		errs = append(errs, r.ensureNetwork(ctx, n))
	}
	for i := range nads.Items {
		cur := &nads.Items[i]
		if !slices.ContainsFunc(want.Networks, func(n *nadv1.NetworkAttachmentDefinition) bool { return sameKey(n, cur) }) &&
			cur.Labels[nad.LabelManagedBy] == nad.ManagedBy {
			errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, cur)))
		}
	}
	var tpls resourceapi.ResourceClaimTemplateList
	if err := r.Client.List(ctx, &tpls, mine); err != nil {
		return ctrl.Result{}, fmt.Errorf("list ResourceClaimTemplates: %w", err)
	}
	for _, t := range want.Templates {
		errs = append(errs, r.ensureTemplate(ctx, t))
	}
	for i := range tpls.Items {
		cur := &tpls.Items[i]
		if !slices.ContainsFunc(want.Templates, func(t *resourceapi.ResourceClaimTemplate) bool { return sameKey(t, cur) }) &&
			cur.Labels[nad.LabelManagedBy] == nad.ManagedBy {
			errs = append(errs, client.IgnoreNotFound(r.Client.Delete(ctx, cur)))
		}
	}
	return ctrl.Result{}, errors.Join(errs...)
}

func sameKey(a, b client.Object) bool {
	return a.GetNamespace() == b.GetNamespace() && a.GetName() == b.GetName()
}

func (r *DRAReconciler) ensureNetwork(ctx context.Context, want *nadv1.NetworkAttachmentDefinition) error {
	var cur nadv1.NetworkAttachmentDefinition
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), &cur)
	if apierrors.IsNotFound(err) {
		if err := r.Client.Create(ctx, want); err != nil {
			return fmt.Errorf("create NetworkAttachmentDefinition %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get NetworkAttachmentDefinition %s/%s: %w", want.Namespace, want.Name, err)
	}
	if cur.Labels[nad.LabelManagedBy] != nad.ManagedBy {
		klog.FromContext(ctx).Info("NetworkAttachmentDefinition of a DRA-mode group exists and is not railnet's; leaving it alone",
			"networkattachmentdefinition", want.Namespace+"/"+want.Name)
		return nil
	}
	if cur.Spec.Config == want.Spec.Config && equality.Semantic.DeepEqual(cur.OwnerReferences, want.OwnerReferences) &&
		cur.Labels[nad.LabelDRAGroup] == want.Labels[nad.LabelDRAGroup] {
		return nil
	}
	cur.Spec, cur.OwnerReferences = want.Spec, want.OwnerReferences
	cur.Labels = merge(cur.Labels, want.Labels)
	if err := r.Client.Update(ctx, &cur); err != nil {
		return fmt.Errorf("update NetworkAttachmentDefinition %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}

func (r *DRAReconciler) ensureTemplate(ctx context.Context, want *resourceapi.ResourceClaimTemplate) error {
	var cur resourceapi.ResourceClaimTemplate
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), &cur)
	if apierrors.IsNotFound(err) {
		if err := r.Client.Create(ctx, want); err != nil {
			return fmt.Errorf("create ResourceClaimTemplate %s/%s: %w", want.Namespace, want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get ResourceClaimTemplate %s/%s: %w", want.Namespace, want.Name, err)
	}
	if cur.Labels[nad.LabelManagedBy] != nad.ManagedBy {
		return nil // the user's own template of that name: theirs to keep
	}
	if equality.Semantic.DeepEqual(cur.Spec, want.Spec) {
		return nil
	}
	// A template's spec is immutable: replace it (claims made from the old
	// one keep their spec).
	if err := r.Client.Delete(ctx, &cur); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("replace ResourceClaimTemplate %s/%s: %w", want.Namespace, want.Name, err)
	}
	if err := r.Client.Create(ctx, want); err != nil {
		return fmt.Errorf("create ResourceClaimTemplate %s/%s: %w", want.Namespace, want.Name, err)
	}
	return nil
}
