package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/api/injectgroup"
	"github.com/railnet/railnet/webhook/registration"
)

// NamespaceReconciler mirrors a namespace's inject annotation into
// registration.NamespaceLabel.
type NamespaceReconciler struct {
	Client client.Client
}

// SetupWithManager registers the reconciler for Namespaces.
func (r *NamespaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("namespace-inject-label").For(&corev1.Namespace{}).Complete(r)
}

// Reconcile sets or removes the label on one namespace.
func (r *NamespaceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, req.NamespacedName, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	want := WantsLabel(ns.Annotations)
	_, has := ns.Labels[registration.NamespaceLabel]
	if want == has {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(ns.DeepCopy())
	if want {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[registration.NamespaceLabel] = "true"
	} else {
		delete(ns.Labels, registration.NamespaceLabel)
	}
	if err := r.Client.Patch(ctx, &ns, patch); err != nil {
		return ctrl.Result{}, fmt.Errorf("label namespace %s: %w", ns.Name, err)
	}
	return ctrl.Result{}, nil
}

// WantsLabel reports whether a namespace with these annotations names an
// inject group.
func WantsLabel(annotations map[string]string) bool {
	_, ok := injectgroup.Lookup(nil, annotations)
	return ok
}
