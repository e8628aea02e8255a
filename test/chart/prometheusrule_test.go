package chart

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/test/monitoring"
)

// prometheusRule.install: off by default; "auto" renders the PrometheusRule
// only when the cluster serves its CRD; true always. Its spec is the rule
// file test/monitoring checks, as it is.
func TestPrometheusRuleRenderedWhenAsked(t *testing.T) {
	const crd = "monitoring.coreos.com/v1/PrometheusRule"
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"default", nil, false},
		{"auto without the CRD", []string{"--set", "prometheusRule.install=auto"}, false},
		{"auto with the CRD", []string{"--set", "prometheusRule.install=auto", "--api-versions", crd}, true},
		{"false with the CRD", []string{"--api-versions", crd}, false},
		{"true", []string{"--set", "prometheusRule.install=true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "railnet", chartDir(t), "--namespace", "railnet"}, tc.args...)
			out, err := helm(t, args...)
			if err != nil {
				t.Fatalf("helm %v: %v\n%s", args, err, out)
			}
			var rule map[string]any
			for _, obj := range decode(t, out) {
				if obj.GetKind() == "PrometheusRule" {
					rule = obj.Object
				}
			}
			if (rule != nil) != tc.want {
				t.Fatalf("PrometheusRule rendered: %v, want %v", rule != nil, tc.want)
			}
			if rule == nil {
				return
			}
			spec, err := yaml.Marshal(rule["spec"])
			if err != nil {
				t.Fatal(err)
			}
			groups, err := monitoring.ParseRules(spec)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(groups.Queries()); n < 6 {
				t.Errorf("the rendered PrometheusRule has %d alerts, want the rule file's", n)
			}
			if !strings.Contains(string(spec), "{{ $labels.node }}") {
				t.Errorf("the annotations' {{ $labels.… }} did not survive rendering:\n%s", spec)
			}
		})
	}
	if out, err := helm(t, "template", "railnet", chartDir(t), "--set", "prometheusRule.install=yes"); err == nil || !strings.Contains(string(out), "prometheusRule") {
		t.Errorf("prometheusRule.install=yes was accepted or refused without naming the key: %v\n%s", err, out)
	}
}
