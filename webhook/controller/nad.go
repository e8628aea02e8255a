package controller

import (
	"context"
	"fmt"
	"maps"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/nad"
)

// NADReconciler renders SpiderMultusConfigs into NetworkAttachmentDefinitions.
type NADReconciler struct {
	Client client.Client
	// Recorder records, on the SpiderMultusConfig, what became of its
	// NetworkAttachmentDefinition and why it could not be written; nil
	// records nothing.
	Recorder events.EventRecorder
}

// Reasons of the events recorded on a SpiderMultusConfig.
const (
	EventNADCreated   = "NetworkAttachmentDefinitionCreated"
	EventNADUpdated   = "NetworkAttachmentDefinitionUpdated"
	EventRenderFailed = "RenderFailed"
	EventNADConflict  = "NetworkAttachmentDefinitionNotOwned"
)

func (r *NADReconciler) event(smc *spiderv2beta1.SpiderMultusConfig, typ, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(smc, nil, typ, reason, action, note, args...)
	}
}

// SetupWithManager registers the reconciler: it runs for every
// SpiderMultusConfig change and for changes to the NADs it owns.
func (r *NADReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("spidermultusconfig-nad").
		For(&spiderv2beta1.SpiderMultusConfig{}).Owns(&nadv1.NetworkAttachmentDefinition{}).Complete(r)
}

// Reconcile brings the NAD of one SpiderMultusConfig up to date.
func (r *NADReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := klog.FromContext(ctx).WithValues("spidermultusconfig", req.NamespacedName)
	var smc spiderv2beta1.SpiderMultusConfig
	if err := r.Client.Get(ctx, req.NamespacedName, &smc); err != nil {
		// Deleted: the garbage collector removes the owned NAD.
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !smc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	want, err := nad.Render(&smc)
	if err != nil {
		// The admission webhook refuses such configs; one that slipped past
		// (webhook down) waits for its next change.
		log.Error(err, "cannot render NetworkAttachmentDefinition")
		r.event(&smc, corev1.EventTypeWarning, EventRenderFailed, "Render",
			"no NetworkAttachmentDefinition: %v; pods cannot use this network until the config is fixed "+
				"(the admission webhook refuses such configs: this one was written while it was not answering)", err)
		return ctrl.Result{}, nil
	}
	var cur nadv1.NetworkAttachmentDefinition
	err = r.Client.Get(ctx, req.NamespacedName, &cur)
	if apierrors.IsNotFound(err) {
		if err := r.Client.Create(ctx, want); err != nil {
			return ctrl.Result{}, fmt.Errorf("create NetworkAttachmentDefinition %s: %w", req.NamespacedName, err)
		}
		log.V(2).Info("created NetworkAttachmentDefinition")
		r.event(&smc, corev1.EventTypeNormal, EventNADCreated, "Create", "created NetworkAttachmentDefinition %s", req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("get NetworkAttachmentDefinition %s: %w", req.NamespacedName, err)
	}
	if !ownedBy(&cur, &smc) {
		log.Info("NetworkAttachmentDefinition of the same name exists and is not railnet's; leaving it alone",
			"networkattachmentdefinition", req.NamespacedName)
		r.event(&smc, corev1.EventTypeWarning, EventNADConflict, "Update",
			"NetworkAttachmentDefinition %s exists and is not railnet's; railnet leaves it alone, so pods naming this network get "+
				"that definition, not this config: delete it (railnet then writes its own) or rename this SpiderMultusConfig", req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if !NeedsUpdate(&cur, want) {
		return ctrl.Result{}, nil
	}
	upd := cur.DeepCopy()
	upd.Spec = want.Spec
	upd.Labels = merge(upd.Labels, want.Labels)
	upd.Annotations = merge(upd.Annotations, want.Annotations)
	if _, ok := want.Annotations[nad.AnnotationResourceName]; !ok {
		delete(upd.Annotations, nad.AnnotationResourceName)
	}
	if err := r.Client.Update(ctx, upd); err != nil {
		return ctrl.Result{}, fmt.Errorf("update NetworkAttachmentDefinition %s: %w", req.NamespacedName, err)
	}
	log.V(2).Info("updated NetworkAttachmentDefinition")
	r.event(&smc, corev1.EventTypeNormal, EventNADUpdated, "Update", "updated NetworkAttachmentDefinition %s to this config", req.NamespacedName)
	return ctrl.Result{}, nil
}

// NeedsUpdate reports whether cur differs from the rendering want in what
// railnet manages: the config, its labels and the resourceName annotation.
func NeedsUpdate(cur, want *nadv1.NetworkAttachmentDefinition) bool {
	if cur.Spec.Config != want.Spec.Config {
		return true
	}
	for k, v := range want.Labels {
		if cur.Labels[k] != v {
			return true
		}
	}
	wr, wok := want.Annotations[nad.AnnotationResourceName]
	cr, cok := cur.Annotations[nad.AnnotationResourceName]
	return wok != cok || wr != cr
}

func ownedBy(obj metav1.Object, smc *spiderv2beta1.SpiderMultusConfig) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == smc.UID
}

func merge(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	maps.Copy(dst, src)
	return dst
}
