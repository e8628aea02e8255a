package state

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// The view follows the webhook's ConfigMap through its events: unknown
// without a name (every group acted on), off until the ConfigMap is seen
// and after it is deleted, the parse error while it is malformed.
func TestInjectViewConfig(t *testing.T) {
	if cfg, err := newInjectView(types.NamespacedName{}).InjectConfig(); err != nil || !cfg.Enabled {
		t.Errorf("without a ConfigMap name: %+v, %v; want enabled", cfg, err)
	}
	v := newInjectView(types.NamespacedName{Namespace: "railnet", Name: "railnet-config"})
	cm := func(conf string) *corev1.ConfigMap {
		return &corev1.ConfigMap{Data: map[string]string{injectgroup.ConfigKey: conf}}
	}
	steps := []struct {
		name    string
		do      func()
		want    injectgroup.Config
		wantErr string
	}{
		{name: "not seen yet: off", do: func() {}},
		{name: "seen", do: func() { v.setConfigMap(cm("podResourceInject: {enabled: true, namespacesExclude: [kube-system]}")) },
			want: injectgroup.Config{Enabled: true, NamespacesExclude: []string{"kube-system"}}},
		{name: "malformed", do: func() { v.setConfigMap(cm("podResourceInject: [1")) },
			wantErr: "ConfigMap railnet/railnet-config: ConfigMap key conf.yaml: error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"},
		{name: "fixed", do: func() { v.setConfigMap(cm("podResourceInject: {enabled: true}")) }, want: injectgroup.Config{Enabled: true}},
		{name: "deleted: off", do: func() { v.deleteConfigMap(nil) }},
	}
	for _, st := range steps {
		st.do()
		cfg, err := v.InjectConfig()
		if st.wantErr != "" {
			if err == nil || err.Error() != st.wantErr {
				t.Errorf("%s: err %v, want %q", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(cfg, st.want) {
			t.Errorf("%s: %+v, %v; want %+v", st.name, cfg, err, st.want)
		}
	}
}

// Namespaces keep only their inject annotations, and only namespaces that
// have one are held.
func TestInjectViewNamespaces(t *testing.T) {
	v := newInjectView(types.NamespacedName{})
	add := func(name string, ann map[string]string) {
		slim, _ := slimNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann,
			Labels: map[string]string{"team": "x"}}})
		v.setNamespace(slim.(*corev1.Namespace))
	}
	rdma := spiderv2beta1.AnnotationRDMAResourceInject
	add("train", map[string]string{rdma: "rdma-network", "owner": "ml"})
	add("web", map[string]string{"owner": "web"})
	if got, want := v.NamespaceAnnotations("train"), map[string]string{rdma: "rdma-network"}; !reflect.DeepEqual(got, want) {
		t.Errorf("train: %v, want %v", got, want)
	}
	if len(v.groups) != 1 || v.NamespaceAnnotations("web") != nil {
		t.Errorf("namespaces held: %v; want only train", v.groups)
	}
	add("train", map[string]string{"owner": "ml"}) // group annotation removed
	if v.NamespaceAnnotations("train") != nil {
		t.Errorf("train still names a group after its annotation was removed")
	}
	add("train", map[string]string{rdma: "g"})
	v.deleteNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "train"}})
	if len(v.groups) != 0 {
		t.Errorf("deleted namespace kept: %v", v.groups)
	}
}
