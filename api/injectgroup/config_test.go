package injectgroup

import (
	"reflect"
	"slices"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]string
		want    Config
		wantErr string
	}{
		{name: "no key: off", data: map[string]string{}},
		{name: "seed keys, Spiderpool's key", data: map[string]string{LegacyConfigKey: `
ipamUnixSocketPath: /var/run/spidernet/spiderpool.sock
podResourceInject:
  enabled: true
  namespacesExclude: [kube-system, spiderpool]
  namespacesInclude: []
`}, want: Config{Enabled: true, NamespacesExclude: []string{"kube-system", "spiderpool"}, NamespacesInclude: []string{}}},
		{name: "chart key wins", data: map[string]string{ConfigKey: "podResourceInject: {enabled: true}", LegacyConfigKey: "podResourceInject: {enabled: false}"},
			want: Config{Enabled: true}},
		{name: "NCCL conf file off, its folder", data: map[string]string{ConfigKey: "podResourceInject: {enabled: true, ncclConf: false, ncclDir: /var/run/nccl}"},
			want: Config{Enabled: true, NCCLConf: new(bool), NCCLDir: "/var/run/nccl"}},
		{name: "malformed", data: map[string]string{ConfigKey: "podResourceInject: [1"},
			wantErr: "ConfigMap key conf.yaml: error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig(tt.data)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestSplitGroups(t *testing.T) {
	for v, want := range map[string][]string{
		"": nil, " ": nil, ",,": nil, "a": {"a"}, "a,b": {"a", "b"}, " a , ,b,": {"a", "b"}, "a,a": {"a", "a"},
	} {
		if got := SplitGroups(v); !slices.Equal(got, want) {
			t.Errorf("SplitGroups(%q) = %q, want %q", v, got, want)
		}
	}
}
