package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	corev1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/api/service"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/certs/serving"
	"github.com/railnet/railnet/webhook/admission"
	"github.com/railnet/railnet/webhook/controller"
	"github.com/railnet/railnet/webhook/metrics"
	"github.com/railnet/railnet/webhook/server"
	"github.com/railnet/railnet/webhook/store"
)

// Options configure the service.
type Options struct {
	// Config reaches the API server.
	Config *rest.Config
	// Listener is where the HTTPS server listens (Listen opens one).
	Listener net.Listener
	// MetricsListener, when set, also serves /metrics over plain HTTP (for
	// Prometheus scraping without the webhook's CA).
	MetricsListener net.Listener
	// Certs selects the serving certificate: mounted files (cert-manager
	// mode) or railnet's self-managed CA.
	Certs serving.Config
	// ConfigMap holds conf.yml with podResourceInject.
	ConfigMap client.ObjectKey
	// LeaderElection makes one replica run the controllers (a Lease in
	// ConfigMap.Namespace); every replica serves admission requests.
	LeaderElection bool
	// LeaderElectionID names the Lease.
	LeaderElectionID string
	// DRA turns DRA mode on (charts/railnet/docs/dra.md): the webhook
	// reads ResourceClaimTemplates, so inject groups in DRA mode can be
	// served. It needs resource.k8s.io/v1 and the chart's DRA RBAC.
	DRA bool
	// GPUDeviceClass and RailDeviceClass are the DeviceClasses of the
	// claim templates the DRA controller keeps (DRA mode).
	GPUDeviceClass, RailDeviceClass string
	// ReviewBudgetBytes bounds the admission review bodies served at once
	// (admission.Limit); 0 means admission.DefaultBudgetBytes.
	ReviewBudgetBytes int64
}

// Run serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	log := klog.FromContext(ctx)
	certs, err := serving.New(o.Config, o.Certs)
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	mgr, err := ctrl.NewManager(o.Config, ctrl.Options{
		Scheme:                        scheme.New(),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                o.LeaderElection,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.ConfigMap.Namespace,
		LeaderElectionReleaseOnCancel: true,
		Logger:                        log,
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Namespaces: map[string]cache.Config{o.ConfigMap.Namespace: {}}},
		}},
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	{
		if err := (&controller.NADReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("railnet-webhook")}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up NAD controller: %w", err)
		}
		if err := (&controller.NamespaceReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("set up namespace controller: %w", err)
		}
		if o.DRA {
			r := &controller.DRAReconciler{Client: mgr.GetClient(), GPUClass: o.GPUDeviceClass, RailClass: o.RailDeviceClass}
			if err := r.SetupWithManager(mgr); err != nil {
				return fmt.Errorf("set up DRA-mode controller: %w", err)
			}
		}
	}
	// Start every informer the store reads with the manager, so readiness
	// means all of them are synced.
	informed := []client.Object{&corev1.ConfigMap{}, &corev1.Namespace{}, &spiderv2beta1.SpiderMultusConfig{},
		&spiderv2beta1.SpiderIPPool{}, &nadv1.NetworkAttachmentDefinition{}}
	if o.DRA {
		informed = append(informed, &resourceapi.ResourceClaimTemplate{})
	}
	for _, obj := range informed {
		if _, err := mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
	}
	var synced atomic.Bool
	ready := func() error {
		if !synced.Load() {
			return errors.New("informer caches not synced yet")
		}
		return nil
	}
	m := metrics.New()
	m.Registry.MustRegister(certs) // railnet_certificate_expiry_timestamp_seconds
	st := store.New(mgr.GetCache(), o.ConfigMap)
	st.Allocations = mgr.GetAPIReader() // IPAllocations are read live, never cached
	if o.DRA {
		st.ClaimTemplates = mgr.GetCache()
	}
	h := &admission.Handler{Store: st, Metrics: m}

	g, ctx := service.NewGroup(ctx)
	g.Go("manager", mgr.Start)
	g.Go("certificates", certs.Start)
	g.Go("readiness", func(ctx context.Context) error {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			synced.Store(true)
			log.Info("caches synced; ready")
		}
		return nil
	})
	g.Go("admission server", func(ctx context.Context) error {
		return server.Serve(ctx, o.Listener, server.Options{Handler: h, Metrics: m, Certs: certs, Ready: ready, BudgetBytes: o.ReviewBudgetBytes})
	})
	if o.MetricsListener != nil {
		g.Go("metrics server", func(ctx context.Context) error { return server.ServeMetrics(ctx, o.MetricsListener, m) })
	}
	return g.Wait()
}
