package schedsync

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestResourceNames(t *testing.T) {
	for _, tt := range []struct {
		name, config string
		want         []string
		err          string
	}{
		{name: "the seed's per-GPU resources", config: `{"periodicUpdateInterval":300,"configList":[
			{"resourcePrefix":"spidernet.io","resourceName":"shared_cx5_gpu1","rdmaHcaMax":100,"selectors":{"ifNames":["enp11s0f0np0"]}},
			{"resourcePrefix":"spidernet.io","resourceName":"shared_cx5_gpu2","rdmaHcaMax":100,"selectors":{"ifNames":["enp18s0f0np0"]}}]}`,
			want: []string{"spidernet.io/shared_cx5_gpu1", "spidernet.io/shared_cx5_gpu2"}},
		{name: "the plugin's default prefix", config: `{"configList":[{"resourceName":"hca_shared_devices_a"}]}`,
			want: []string{"rdma/hca_shared_devices_a"}},
		{name: "a repeated resource once", config: `{"configList":[{"resourceName":"a"},{"resourceName":"b"},{"resourceName":"a"}]}`,
			want: []string{"rdma/a", "rdma/b"}},
		{name: "no resource keeps the last list", config: `{"configList":[]}`, err: "defines no resource"},
		{name: "a resource without a name", config: `{"configList":[{"resourcePrefix":"x"}]}`, err: "configList[0] has no resourceName"},
		{name: "not JSON", config: `configList: []`, err: "device plugin config.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResourceNames([]byte(tt.config))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ResourceNames = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

const stanza = `# a comment the chart wrote
- urlPrefix: http://127.0.0.1:10262
  filterVerb: filter
  nodeCacheCapable: true
  ignorable: false
  managedResources:
    - name: spidernet.io/shared_cx5_gpu1
      # keep false
      ignoredByScheduler: false
`

const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 100
profiles:
  - schedulerName: railnet-scheduler
extenders:
  - urlPrefix: http://127.0.0.1:10262
    weight: 5
    managedResources:
      - {name: spidernet.io/shared_cx5_gpu1, ignoredByScheduler: false}
`

func TestSetManagedResources(t *testing.T) {
	two := []string{"spidernet.io/shared_cx5_gpu1", "spidernet.io/shared_cx5_gpu2"}
	for _, tt := range []struct {
		name, doc   string
		names       []string
		wantChanged bool
		err         string
	}{
		{name: "stanza already in line is left as it is", doc: stanza, names: two[:1]},
		{name: "stanza gains a resource", doc: stanza, names: two, wantChanged: true},
		{name: "stanza loses every resource but another", doc: stanza, names: []string{"rdma/x"}, wantChanged: true},
		{name: "scheduler config in line", doc: schedulerConfig, names: two[:1]},
		{name: "scheduler config gains a resource", doc: schedulerConfig, names: two, wantChanged: true},
		{name: "an ignored resource is taken back", doc: strings.Replace(stanza, "ignoredByScheduler: false", "ignoredByScheduler: true", 1), names: two[:1], wantChanged: true},
		{name: "a config without extenders", doc: "kind: KubeSchedulerConfiguration\n", names: two, err: "without extenders"},
		{name: "a scalar", doc: "42\n", names: two, err: "neither a list of extenders"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := SetManagedResources([]byte(tt.doc), tt.names)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || changed != tt.wantChanged {
				t.Fatalf("changed = %v, err = %v; want changed = %v", changed, err, tt.wantChanged)
			}
			if !changed && string(out) != tt.doc {
				t.Errorf("an unchanged document was rewritten:\n%s", out)
			}
			// Whatever the shape, every extender now manages exactly names,
			// and the other fields are kept.
			var v any
			if err := yaml.Unmarshal(out, &v); err != nil {
				t.Fatal(err)
			}
			entries, _ := v.([]any)
			if m, ok := v.(map[string]any); ok {
				entries = m["extenders"].([]any)
				if m["percentageOfNodesToScore"] != float64(100) {
					t.Errorf("the scheduler config lost its other fields:\n%s", out)
				}
			}
			for _, e := range entries {
				m := e.(map[string]any)
				if !sameNames(m["managedResources"], tt.names) || m["urlPrefix"] != "http://127.0.0.1:10262" {
					t.Errorf("extender entry after the change: %v", m)
				}
			}
		})
	}
}
