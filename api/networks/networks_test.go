package networks

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []Ref
		wantErr string
	}{
		{name: "empty", value: "  ", want: nil},
		{
			name:  "seed JSON list",
			value: "[{\"name\":\"gpu1-macvlan\",\"namespace\":\"spiderpool\"},\n{\"name\":\"gpu2-macvlan\"}]",
			want: []Ref{
				{Namespace: "spiderpool", Name: "gpu1-macvlan"},
				{Namespace: "pods", Name: "gpu2-macvlan"},
			},
		},
		{
			name:  "JSON with interface",
			value: `[{"name":"a","namespace":"n","interface":"net9"}]`,
			want:  []Ref{{Namespace: "n", Name: "a", Interface: "net9"}},
		},
		{
			name:  "shorthand",
			value: "spiderpool/gpu1-macvlan@net1, gpu2-macvlan",
			want: []Ref{
				{Namespace: "spiderpool", Name: "gpu1-macvlan", Interface: "net1"},
				{Namespace: "pods", Name: "gpu2-macvlan"},
			},
		},
		{name: "bad JSON", value: `[{"name":`, wantErr: "is not a JSON list of networks"},
		{name: "JSON entry without name", value: `[{"namespace":"x"}]`, wantErr: "entry 0 has no name"},
		{name: "shorthand without name", value: "ns/", wantErr: "must be [namespace/]name[@interface]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.value, "pods")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want it to contain %q", tt.value, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.value, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.value, got, tt.want)
			}
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	refs := []Ref{{Namespace: "spiderpool", Name: "gpu1-macvlan"}, {Namespace: "spiderpool", Name: "gpu2-macvlan", Interface: "net2"}}
	got := Format(refs)
	want := `[{"name":"gpu1-macvlan","namespace":"spiderpool"},{"name":"gpu2-macvlan","namespace":"spiderpool","interface":"net2"}]`
	if got != want {
		t.Fatalf("Format = %s, want %s", got, want)
	}
	back, err := Parse(got, "other")
	if err != nil || !reflect.DeepEqual(back, refs) {
		t.Fatalf("Parse(Format(refs)) = %#v, %v; want %#v", back, err, refs)
	}
}
