package schedsync

import (
	"encoding/json"
	"fmt"
	"slices"

	"sigs.k8s.io/yaml"
)

// defaultResourcePrefix is the k8s-rdma-shared-dev-plugin's prefix when a
// resource names none.
const defaultResourcePrefix = "rdma"

// ResourceNames returns the kubelet resource name (prefix/name) of each
// resource a device plugin config.json defines, in its order, without
// repeats. Only the names are read: the agent validates the rest.
func ResourceNames(configJSON []byte) ([]string, error) {
	var cfg struct {
		ConfigList []struct {
			ResourcePrefix string `json:"resourcePrefix"`
			ResourceName   string `json:"resourceName"`
		} `json:"configList"`
	}
	if err := json.Unmarshal(configJSON, &cfg); err != nil {
		return nil, fmt.Errorf("device plugin config.json: %w", err)
	}
	var out []string
	for i, r := range cfg.ConfigList {
		if r.ResourceName == "" {
			return nil, fmt.Errorf("device plugin config.json: configList[%d] has no resourceName", i)
		}
		prefix := r.ResourcePrefix
		if prefix == "" {
			prefix = defaultResourcePrefix
		}
		if n := prefix + "/" + r.ResourceName; !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		// An empty managedResources list would make kube-scheduler call the
		// extender for every pod: keep the last list instead.
		return nil, fmt.Errorf("device plugin config.json defines no resource")
	}
	return out, nil
}

// SetManagedResources sets the managedResources of every extender entry in
// doc to names (ignoredByScheduler false: the scheduler keeps counting the
// shares). doc is the chart's published stanza (a YAML list of extender
// entries) or a whole KubeSchedulerConfiguration (its extenders). It reports
// whether anything changed; an unchanged doc is returned as it was, comments
// included.
func SetManagedResources(doc []byte, names []string) ([]byte, bool, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, false, err
	}
	var entries []any
	switch t := v.(type) {
	case []any:
		entries = t
	case map[string]any:
		list, ok := t["extenders"].([]any)
		if !ok {
			return nil, false, fmt.Errorf("a KubeSchedulerConfiguration without extenders")
		}
		entries = list
	default:
		return nil, false, fmt.Errorf("neither a list of extenders nor a KubeSchedulerConfiguration")
	}
	want := make([]any, len(names))
	for i, n := range names {
		want[i] = map[string]any{"name": n, "ignoredByScheduler": false}
	}
	changed := false
	for i, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("extender %d is not an object", i)
		}
		if !sameNames(m["managedResources"], names) {
			m["managedResources"] = want
			changed = true
		}
	}
	if !changed {
		return doc, false, nil
	}
	out, err := yaml.Marshal(v)
	return out, true, err
}

// sameNames reports whether a managedResources value names exactly names,
// in order, none of them ignored by the scheduler.
func sameNames(v any, names []string) bool {
	list, _ := v.([]any)
	if len(list) != len(names) {
		return false
	}
	for i, e := range list {
		m, _ := e.(map[string]any)
		if m == nil || m["name"] != names[i] || m["ignoredByScheduler"] == true {
			return false
		}
	}
	return true
}
