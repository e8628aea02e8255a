package networks

import (
	"fmt"
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
		{name: "shorthand without name", value: "ns/", wantErr: `entry "ns/" must be [namespace/]name[@interface]`},
		{name: "shorthand with a trailing comma", value: "gpu1-macvlan,", want: []Ref{{Namespace: "pods", Name: "gpu1-macvlan"}}},
		// Multus' parser: what Multus refuses is refused here too.
		{name: "shorthand with two slashes", value: "a/b/c", wantErr: `entry "a/b/c" must be [namespace/]name[@interface]`},
		{name: "shorthand with two interfaces", value: "a@net1@net2", wantErr: `entry "a@net1@net2" must be [namespace/]name[@interface]`},
		{name: "shorthand name not a DNS label", value: "spiderpool/GPU1", wantErr: `entry "spiderpool/GPU1" must be [namespace/]name[@interface]`},
		{name: "JSON inside the shorthand", value: `a, [{"name":"b"}]`, wantErr: `entry "[{\"name\":\"b\"}]" must be [namespace/]name[@interface]`},
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

// BenchmarkParse: the JSON list the webhook writes, and the shorthand only
// users write (read with Multus' parser; see the package doc).
func BenchmarkParse(b *testing.B) {
	var refs []Ref
	var short []string
	for i := 1; i <= 8; i++ {
		refs = append(refs, Ref{Namespace: "spiderpool", Name: fmt.Sprintf("gpu%d-macvlan", i)})
		short = append(short, fmt.Sprintf("spiderpool/gpu%d-macvlan", i))
	}
	for name, v := range map[string]string{"json": Format(refs), "shorthand": strings.Join(short, ",")} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if got, err := Parse(v, "p"); err != nil || len(got) != 8 {
					b.Fatal(got, err)
				}
			}
		})
	}
}
