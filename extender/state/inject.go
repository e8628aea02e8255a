package state

import (
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/api/injectgroup"
)

// injectView is what the inject rules read per pod besides the
// SpiderMultusConfigs, kept up to date by the Namespace and ConfigMap
// informers: the inject annotations of the namespaces that have any, and
// the webhook's podResourceInject configuration, parsed once per change.
type injectView struct {
	// configMap is the webhook's ConfigMap; without a name the extender
	// does not know the webhook's configuration and acts on every group.
	configMap types.NamespacedName

	mu     sync.RWMutex
	groups map[string]map[string]string // namespace → its inject annotations

	config atomic.Pointer[parsedConfig]
}

type parsedConfig struct {
	cfg injectgroup.Config
	err error
}

func newInjectView(configMap types.NamespacedName) *injectView {
	v := &injectView{configMap: configMap, groups: map[string]map[string]string{}}
	if configMap.Name == "" {
		v.config.Store(&parsedConfig{cfg: injectgroup.Config{Enabled: true}})
	} else {
		v.config.Store(&parsedConfig{}) // no ConfigMap (yet): injection is off, as the webhook reads it
	}
	return v
}

// setNamespace records ns's inject annotations (slimNamespace kept only
// those).
func (v *injectView) setNamespace(ns *corev1.Namespace) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(ns.Annotations) == 0 {
		delete(v.groups, ns.Name)
		return
	}
	v.groups[ns.Name] = ns.Annotations
}

func (v *injectView) deleteNamespace(ns *corev1.Namespace) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.groups, ns.Name)
}

// NamespaceAnnotations implements rails.Configs.
func (v *injectView) NamespaceAnnotations(name string) map[string]string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.groups[name]
}

// setConfigMap parses the webhook's ConfigMap with the webhook's own parser.
func (v *injectView) setConfigMap(cm *corev1.ConfigMap) {
	cfg, err := injectgroup.ParseConfig(cm.Data)
	if err != nil {
		err = fmt.Errorf("ConfigMap %s: %w", v.configMap, err)
	}
	v.config.Store(&parsedConfig{cfg: cfg, err: err})
}

// deleteConfigMap: without its ConfigMap the webhook injects nothing.
func (v *injectView) deleteConfigMap(*corev1.ConfigMap) {
	v.config.Store(&parsedConfig{})
}

// InjectConfig implements rails.Configs.
func (v *injectView) InjectConfig() (injectgroup.Config, error) {
	p := v.config.Load()
	return p.cfg, p.err
}

// slimNamespace keeps a Namespace's name and its inject annotations: the
// extender reads nothing else of it.
func slimNamespace(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	var ann map[string]string
	for _, k := range injectgroup.Keys {
		if val, ok := ns.Annotations[k]; ok {
			if ann == nil {
				ann = map[string]string{}
			}
			ann[k] = val
		}
	}
	return &corev1.Namespace{TypeMeta: ns.TypeMeta, ObjectMeta: metav1.ObjectMeta{Name: ns.Name, UID: ns.UID,
		ResourceVersion: ns.ResourceVersion, Annotations: ann}}, nil
}
