package schedsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// RolledAnnotation, on a scheduler Deployment's pod template, is a hash of
// the configuration its pods were rolled for.
const RolledAnnotation = "railnet.io/scheduler-config"

// DevicePluginKey is the device plugin ConfigMap's key.
const DevicePluginKey = "config.json"

// Target is a ConfigMap holding a kube-scheduler configuration (every key
// ending in .yaml), and the Deployment of the kube-scheduler that reads it,
// if any.
type Target struct {
	ConfigMap, Deployment string
}

// ParseTarget reads "configmap" or "configmap:deployment".
func ParseTarget(s string) (Target, error) {
	cm, dep, _ := strings.Cut(s, ":")
	if cm == "" {
		return Target{}, fmt.Errorf("%q: want <configmap> or <configmap>:<deployment>", s)
	}
	return Target{ConfigMap: cm, Deployment: dep}, nil
}

// Syncer makes Targets follow the device plugin ConfigMap, all in Namespace.
type Syncer struct {
	Client       kubernetes.Interface
	Namespace    string
	DevicePlugin string
	Targets      []Target
	// Resync re-checks everything this often besides on changes (default 10m).
	Resync time.Duration

	// rollFor holds the Deployments whose ConfigMap was rewritten but whose
	// roll failed: the next round rolls them though the ConfigMap is in line.
	rollFor map[string]string
}

var (
	getOpts    = metav1.GetOptions{}
	updateOpts = metav1.UpdateOptions{FieldManager: "railnet-extender"}
	patchOpts  = metav1.PatchOptions{FieldManager: "railnet-extender"}
)

// errConfig is a device plugin config the syncer cannot take: the last
// managedResources stay until the config is fixed.
var errConfig = errors.New("device plugin config")

// Run watches the ConfigMaps and reconciles on every change until ctx ends.
func (s *Syncer) Run(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("schedsync")
	if s.Resync == 0 {
		s.Resync = 10 * time.Minute
	}
	kick := make(chan struct{}, 1)
	notify := func(any) {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	names := []string{s.DevicePlugin}
	for _, t := range s.Targets {
		names = append(names, t.ConfigMap)
	}
	for _, name := range names {
		lw := toolscache.NewListWatchFromClient(s.Client.CoreV1().RESTClient(), "configmaps", s.Namespace,
			fields.OneTermEqualSelector("metadata.name", name))
		inf := toolscache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, toolscache.Indexers{})
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: notify, UpdateFunc: func(_, n any) { notify(n) }, DeleteFunc: notify,
		}); err != nil {
			return err
		}
		go inf.RunWithContext(ctx)
	}
	tick := time.NewTicker(s.Resync)
	defer tick.Stop()
	retry := time.Duration(0)
	for {
		var after <-chan time.Time
		if retry > 0 {
			after = time.After(retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-tick.C:
		case <-after:
		}
		err := s.Reconcile(ctx)
		switch {
		case err == nil:
			retry = 0
		case errors.Is(err, errConfig):
			log.Error(err, "kept the scheduler configurations' managedResources; fix the device plugin ConfigMap", "configmap", s.Namespace+"/"+s.DevicePlugin)
			retry = 0
		default:
			retry = min(max(2*retry, time.Second), time.Minute)
			log.Error(err, "will retry", "in", retry)
		}
	}
}

// Reconcile brings every target in line with the device plugin ConfigMap
// once.
func (s *Syncer) Reconcile(ctx context.Context) error {
	log := klog.FromContext(ctx).WithName("schedsync")
	cms := s.Client.CoreV1().ConfigMaps(s.Namespace)
	dp, err := cms.Get(ctx, s.DevicePlugin, getOpts)
	if err != nil {
		return fmt.Errorf("get ConfigMap %s/%s: %w", s.Namespace, s.DevicePlugin, err)
	}
	names, err := ResourceNames([]byte(dp.Data[DevicePluginKey]))
	if err != nil {
		return fmt.Errorf("%w: ConfigMap %s/%s: %v", errConfig, s.Namespace, s.DevicePlugin, err)
	}
	for _, t := range s.Targets {
		cm, err := cms.Get(ctx, t.ConfigMap, getOpts)
		if err != nil {
			return fmt.Errorf("get ConfigMap %s/%s: %w", s.Namespace, t.ConfigMap, err)
		}
		changed := false
		for k, v := range cm.Data {
			if !strings.HasSuffix(k, ".yaml") {
				continue
			}
			out, c, err := SetManagedResources([]byte(v), names)
			if err != nil {
				return fmt.Errorf("%w: ConfigMap %s/%s key %s: %v", errConfig, s.Namespace, t.ConfigMap, k, err)
			}
			if c {
				cm.Data[k], changed = string(out), true
			}
		}
		if changed {
			if _, err := cms.Update(ctx, cm, updateOpts); err != nil {
				return fmt.Errorf("update ConfigMap %s/%s: %w", s.Namespace, t.ConfigMap, err)
			}
			log.Info("extender managedResources follow the device plugin config", "configmap", t.ConfigMap, "resources", names)
			if t.Deployment != "" {
				if s.rollFor == nil {
					s.rollFor = map[string]string{}
				}
				sum := sha256.Sum256([]byte(strings.Join(names, ",")))
				s.rollFor[t.Deployment] = hex.EncodeToString(sum[:8])
			}
		}
		if hash, ok := s.rollFor[t.Deployment]; ok && t.Deployment != "" {
			patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RolledAnnotation, hash)
			if _, err := s.Client.AppsV1().Deployments(s.Namespace).Patch(ctx, t.Deployment, types.StrategicMergePatchType, []byte(patch), patchOpts); err != nil {
				return fmt.Errorf("roll Deployment %s/%s for its new configuration: %w", s.Namespace, t.Deployment, err)
			}
			delete(s.rollFor, t.Deployment)
			log.Info("rolled the scheduler for its new configuration", "deployment", t.Deployment)
		}
	}
	return nil
}
