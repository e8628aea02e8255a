package selfmanaged

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LabelInjectCA on a Mutating- or ValidatingWebhookConfiguration asks for its
// caBundle to be kept equal to railnet's trust bundle (with the value "true").
const LabelInjectCA = "railnet.io/inject-ca"

// TrustBundle is what an Injector publishes; *Authority is one.
type TrustBundle interface {
	Bundle() []byte
	Subscribe() <-chan struct{}
}

// Targets select the webhook configurations whose caBundle is kept: by name,
// or by label. An object matching either is selected.
type Targets struct {
	MutatingWebhooks   []string
	ValidatingWebhooks []string
	// Selector selects both kinds by label, e.g. railnet.io/inject-ca=true.
	// Nil selects none by label.
	Selector labels.Selector
	// ConfigMaps get the bundle under key ConfigMapKey (created when
	// missing): for clients that read a CA file, e.g. kube-scheduler's
	// extender tlsConfig.caFile.
	ConfigMaps []types.NamespacedName
	// Deployments are rolled when the bundle changes: their pod template
	// gets annotation AnnotationBundleHash set to the bundle's hash. For
	// clients that read the CA only at start (kube-scheduler builds its
	// extender transport once), after the ConfigMaps above are written, so
	// new pods mount the new bundle.
	Deployments []types.NamespacedName
}

// AnnotationBundleHash on the pod template of a target Deployment is the hash
// of the trust bundle its pods were started with.
const AnnotationBundleHash = "railnet.io/ca-bundle-hash"

// BundleHash is the value of AnnotationBundleHash for bundle.
func BundleHash(bundle []byte) string {
	sum := sha256.Sum256(bundle)
	return hex.EncodeToString(sum[:8])
}

// ConfigMapKey is the key of the bundle in target ConfigMaps.
const ConfigMapKey = "ca.crt"

// webhooks reports whether webhook configurations can be selected.
func (t Targets) webhooks() bool {
	return len(t.MutatingWebhooks) > 0 || len(t.ValidatingWebhooks) > 0 || t.Selector != nil
}

// Empty reports whether no object can be selected.
func (t Targets) Empty() bool {
	return len(t.MutatingWebhooks) == 0 && len(t.ValidatingWebhooks) == 0 && t.Selector == nil && len(t.ConfigMaps) == 0 && len(t.Deployments) == 0
}

// InjectorOptions configure an Injector.
type InjectorOptions struct {
	Targets Targets
	// Resync re-checks every selected object this often even without events.
	Resync time.Duration
	// Clock; the real clock when nil.
	Clock clock.WithTicker
}

// Injector keeps the caBundle of every entry of the selected webhook
// configurations equal to the trust bundle. It reacts to changes of the
// bundle and to every event on the configurations (a re-applied chart with an
// empty caBundle is repaired at once).
type Injector struct {
	bundle  TrustBundle
	client  client.Client
	cache   cache.Cache
	opts    InjectorOptions
	trigger chan struct{}
	// rolled is the bundle hash last written to each target Deployment.
	rolled map[types.NamespacedName]string
}

// NewInjector returns an Injector reading the configurations through c (backed
// by informers of ch) and watching them through ch.
func NewInjector(b TrustBundle, c client.Client, ch cache.Cache, opts InjectorOptions) *Injector {
	if opts.Resync <= 0 {
		opts.Resync = 30 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Injector{bundle: b, client: c, cache: ch, opts: opts, trigger: make(chan struct{}, 1),
		rolled: map[types.NamespacedName]string{}}
}

func (in *Injector) poke() {
	select {
	case in.trigger <- struct{}{}:
	default:
	}
}

// Start watches and repairs until ctx ends.
func (in *Injector) Start(ctx context.Context) error {
	log := klog.FromContext(ctx)
	if in.opts.Targets.Empty() {
		<-ctx.Done()
		return nil
	}
	handler := eventFunc(in.poke)
	var watched []client.Object
	if in.opts.Targets.webhooks() {
		// Only then: a client keeping just a ConfigMap (the extender) may
		// not list webhook configurations.
		watched = append(watched, &admissionregistrationv1.MutatingWebhookConfiguration{}, &admissionregistrationv1.ValidatingWebhookConfiguration{})
	}
	if len(in.opts.Targets.ConfigMaps) > 0 {
		watched = append(watched, &corev1.ConfigMap{})
	}
	for _, obj := range watched {
		inf, err := in.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
		defer func() { _ = inf.RemoveEventHandler(reg) }()
	}
	changed := in.bundle.Subscribe()
	resync := in.opts.Clock.NewTicker(in.opts.Resync)
	defer resync.Stop()
	for {
		if err := in.sync(ctx); err != nil {
			log.Error(err, "Inject the CA bundle; retrying")
			in.poke()
			timer := in.opts.Clock.NewTimer(500 * time.Millisecond)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.C():
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.trigger:
		case <-changed:
		case <-resync.C():
		}
	}
}

func (in *Injector) selected(name string, l map[string]string, names []string) bool {
	return slices.Contains(names, name) || (in.opts.Targets.Selector != nil && in.opts.Targets.Selector.Matches(labels.Set(l)))
}

// sync brings every selected object to the current bundle.
func (in *Injector) sync(ctx context.Context) error {
	bundle := in.bundle.Bundle()
	if len(bundle) == 0 {
		return nil // not read yet; Subscribe wakes us
	}
	var errs []error
	if in.opts.Targets.webhooks() {
		if err := in.syncWebhooks(ctx, bundle, &errs); err != nil {
			return err
		}
	}
	for _, key := range in.opts.Targets.ConfigMaps {
		if err := in.syncConfigMap(ctx, key, bundle); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Roll no Deployment before its pods can mount the new bundle.
		return fmt.Errorf("%d objects not updated: %w", len(errs), errs[0])
	}
	for _, key := range in.opts.Targets.Deployments {
		if err := in.rollDeployment(ctx, key, bundle); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d objects not updated: %w", len(errs), errs[0])
	}
	return nil
}

// syncWebhooks sets the caBundle of every selected webhook entry that
// differs; failed writes are added to errs, a failed list is returned.
func (in *Injector) syncWebhooks(ctx context.Context, bundle []byte, errs *[]error) error {
	var mutating admissionregistrationv1.MutatingWebhookConfigurationList
	if err := in.client.List(ctx, &mutating); err != nil {
		return fmt.Errorf("list mutating webhook configurations: %w", err)
	}
	for i := range mutating.Items {
		obj := &mutating.Items[i]
		if !in.selected(obj.Name, obj.Labels, in.opts.Targets.MutatingWebhooks) {
			continue
		}
		stale := 0
		for j := range obj.Webhooks {
			stale += setBundle(&obj.Webhooks[j].ClientConfig, bundle)
		}
		in.writeStale(ctx, "MutatingWebhookConfiguration", obj, stale, errs)
	}
	var validating admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := in.client.List(ctx, &validating); err != nil {
		return fmt.Errorf("list validating webhook configurations: %w", err)
	}
	for i := range validating.Items {
		obj := &validating.Items[i]
		if !in.selected(obj.Name, obj.Labels, in.opts.Targets.ValidatingWebhooks) {
			continue
		}
		stale := 0
		for j := range obj.Webhooks {
			stale += setBundle(&obj.Webhooks[j].ClientConfig, bundle)
		}
		in.writeStale(ctx, "ValidatingWebhookConfiguration", obj, stale, errs)
	}
	return nil
}

// setBundle sets cc's caBundle and returns 1 when it differed.
func setBundle(cc *admissionregistrationv1.WebhookClientConfig, bundle []byte) int {
	if bytes.Equal(cc.CABundle, bundle) {
		return 0
	}
	cc.CABundle = bundle
	return 1
}

// writeStale writes obj when stale of its entries changed.
func (in *Injector) writeStale(ctx context.Context, kind string, obj client.Object, stale int, errs *[]error) {
	if stale == 0 {
		return
	}
	if err := in.write(ctx, kind, obj); err != nil {
		*errs = append(*errs, err)
		return
	}
	klog.FromContext(ctx).Info("Injected CA bundle", "kind", kind, "name", obj.GetName(), "entries", stale)
}

// rollDeployment sets the bundle hash on the Deployment's pod template, which
// rolls its pods when the hash changed. A merge patch without a read: the
// injector needs no watch on Deployments, and an unchanged hash changes
// nothing. A missing Deployment is retried at the next resync.
func (in *Injector) rollDeployment(ctx context.Context, key types.NamespacedName, bundle []byte) error {
	hash := BundleHash(bundle)
	if in.rolled[key] == hash {
		return nil
	}
	patch := fmt.Appendf(nil, `{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, AnnotationBundleHash, hash)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	err := in.client.Patch(ctx, dep, client.RawPatch(types.MergePatchType, patch))
	if apierrors.IsNotFound(err) {
		klog.FromContext(ctx).V(1).Info("Deployment to roll on CA bundle changes not found; trying again at the next resync", "deployment", key.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("roll Deployment %s onto the new CA bundle (patch %s): %w", key, AnnotationBundleHash, err)
	}
	in.rolled[key] = hash
	klog.FromContext(ctx).Info("Rolled Deployment onto the CA bundle", "deployment", key.String(), "bundleHash", hash)
	return nil
}

func (in *Injector) syncConfigMap(ctx context.Context, key types.NamespacedName, bundle []byte) error {
	var cm corev1.ConfigMap
	err := in.client.Get(ctx, key, &cm)
	if apierrors.IsNotFound(err) {
		cm = corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace},
			Data:       map[string]string{ConfigMapKey: string(bundle)},
		}
		err = in.client.Create(ctx, &cm)
		if apierrors.IsAlreadyExists(err) {
			return nil // the cache will show it; the event pokes us
		}
		if err != nil {
			return fmt.Errorf("create ConfigMap %s with the CA bundle: %w", key, err)
		}
		klog.FromContext(ctx).Info("Created CA bundle ConfigMap", "configMap", key.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ConfigMap %s: %w", key, err)
	}
	if cm.Data[ConfigMapKey] == string(bundle) {
		return nil
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[ConfigMapKey] = string(bundle)
	if err := in.write(ctx, "ConfigMap", &cm); err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Injected CA bundle", "configMap", key.String())
	return nil
}

// write updates obj at the resourceVersion it was read at. A conflict or a
// deleted object is no error: the cache's event for the newer copy pokes the
// injector, which then writes from that copy.
func (in *Injector) write(ctx context.Context, kind string, obj client.Object) error {
	err := in.client.Update(ctx, obj)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		klog.FromContext(ctx).V(2).Info("Object changed meanwhile; writing again from the newer copy", "kind", kind, "name", obj.GetName(), "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("set caBundle of %s %s: %w", kind, obj.GetName(), err)
	}
	return nil
}
