package monitoring

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// Catalogue is what the components export: metric name → label name → the
// label's values seen. A label with no values seen can be grouped by or
// printed, but an equality matcher on it names a value nobody exports.
type Catalogue map[string]map[string]map[string]bool

// ScrapeLabels are added by Prometheus when it scrapes (a ServiceMonitor's
// target labels), not by the components.
var ScrapeLabels = map[string]bool{"job": true, "instance": true, "namespace": true, "pod": true,
	"service": true, "endpoint": true, "container": true}

func (c Catalogue) add(name string, lbls map[string]string) {
	m := c[name]
	if m == nil {
		m = map[string]map[string]bool{}
		c[name] = m
	}
	for k, v := range lbls {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		if v != "" {
			m[k][v] = true
		}
	}
}

// AddFamilies adds gathered metric families. With values false only the
// label names are kept (the values were made up by the caller, not by the
// component).
func (c Catalogue) AddFamilies(fams []*dto.MetricFamily, values bool) {
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			lbls := map[string]string{}
			for _, lp := range m.GetLabel() {
				lbls[lp.GetName()] = ""
				if values {
					lbls[lp.GetName()] = lp.GetValue()
				}
			}
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				c.add(f.GetName()+"_sum", lbls)
				c.add(f.GetName()+"_count", lbls)
				bucket := maps.Clone(lbls)
				bucket["le"] = ""
				c.add(f.GetName()+"_bucket", bucket)
			case dto.MetricType_SUMMARY:
				c.add(f.GetName()+"_sum", lbls)
				c.add(f.GetName()+"_count", lbls)
				q := maps.Clone(lbls)
				q["quantile"] = ""
				c.add(f.GetName(), q)
			default:
				c.add(f.GetName(), lbls)
			}
		}
	}
}

// AddText adds a scrape in Prometheus' text format, values included.
func (c Catalogue) AddText(r io.Reader) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return fmt.Errorf("parse scrape: %w", err)
	}
	list := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		list = append(list, f)
	}
	c.AddFamilies(list, true)
	return nil
}

// Query is one PromQL expression an operator is given, with the labels its
// legend or annotations print.
type Query struct {
	Where  string // "panel \"…\"", "alert …"
	Expr   string
	Prints []string // labels printed ({{node}}, {{ $labels.pool }})
}

var (
	legendLabel     = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	annotationLabel = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	labelValues     = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
)

func submatches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// DashboardQueries returns every target of a Grafana dashboard (rows'
// panels included) and its label_values() variables, the latter as the
// selector of the metric they read, printing the label.
func DashboardQueries(dashboard []byte) ([]Query, error) {
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		return nil, fmt.Errorf("dashboard JSON: %w", err)
	}
	var out []Query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Query{Where: fmt.Sprintf("panel %q", p.Title), Expr: t.Expr, Prints: submatches(legendLabel, t.LegendFormat)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if obj, ok := v.Query.(map[string]any); ok {
			q, _ = obj["query"].(string)
		}
		m := labelValues.FindStringSubmatch(strings.TrimSpace(q))
		if m == nil {
			return nil, fmt.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q)
		}
		out = append(out, Query{Where: "variable " + v.Name, Expr: m[1], Prints: []string{m[2]}})
	}
	return out, nil
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// RuleGroups is a Prometheus rule file (the spec of a PrometheusRule).
type RuleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []Rule `json:"rules"`
	} `json:"groups"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// ParseRules reads a rule file, refusing unknown fields.
func ParseRules(file []byte) (*RuleGroups, error) {
	var g RuleGroups
	if err := yaml.UnmarshalStrict(file, &g); err != nil {
		return nil, fmt.Errorf("rule file: %w", err)
	}
	return &g, nil
}

// Queries returns every alert's expression and the labels its annotations
// print.
func (g *RuleGroups) Queries() []Query {
	var out []Query
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			var prints []string
			for _, k := range slices.Sorted(maps.Keys(r.Annotations)) {
				prints = append(prints, submatches(annotationLabel, r.Annotations[k])...)
			}
			out = append(out, Query{Where: "alert " + r.Alert, Expr: r.Expr, Prints: prints})
		}
	}
	return out
}

// Check parses q with Prometheus' PromQL parser and returns every use of a
// metric, label or label value that c lacks.
func Check(q Query, c Catalogue) []error {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.Expr)
	if err != nil {
		return []error{fmt.Errorf("%s: %q does not parse: %w", q.Where, q.Expr, err)}
	}
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{q.Where}, args...)...))
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			checkSelector(n, c, fail)
		case *parser.AggregateExpr:
			if !n.Without {
				have := selectorLabels(n.Expr, c)
				for _, l := range n.Grouping {
					if !have[l] {
						fail("%s by (%s): none of the series aggregated has label %q", n.Op, strings.Join(n.Grouping, ", "), l)
					}
				}
			}
		case *parser.BinaryExpr:
			if n.VectorMatching != nil && n.VectorMatching.On {
				have := selectorLabels(n, c)
				for _, l := range n.VectorMatching.MatchingLabels {
					if !have[l] {
						fail("on (%s): no series has label %q", strings.Join(n.VectorMatching.MatchingLabels, ", "), l)
					}
				}
			}
		}
		return nil
	})
	if len(errs) > 0 {
		return errs
	}
	result := resultLabels(expr, c)
	for _, l := range q.Prints {
		if !result[l] {
			fail("prints label %q, which the result of %q does not have (it has %s)", l, q.Expr, keys(result))
		}
	}
	return errs
}

func checkSelector(n *parser.VectorSelector, c Catalogue, fail func(string, ...any)) {
	name := metricName(n)
	lbls, ok := c[name]
	if !ok {
		fail("metric %q is exported by no railnet component", name)
		return
	}
	for _, m := range n.LabelMatchers {
		if m.Name == labels.MetricName || ScrapeLabels[m.Name] {
			continue
		}
		values, ok := lbls[m.Name]
		if !ok {
			fail("%s has no label %q (it has %s)", name, m.Name, keys(lbls))
			continue
		}
		switch m.Type {
		case labels.MatchEqual:
			if m.Value != "" && !values[m.Value] {
				fail("%s{%s}: no component exports %s=%q (seen: %s)", name, m, m.Name, m.Value, keys(values))
			}
		case labels.MatchRegexp:
			if strings.Contains(m.Value, "$") { // a Grafana variable
				continue
			}
			found := false
			for v := range values {
				found = found || m.Matches(v)
			}
			if !found {
				fail("%s{%s}: matches no value a component exports (seen: %s)", name, m, keys(values))
			}
		}
	}
}

func metricName(n *parser.VectorSelector) string {
	if n.Name != "" {
		return n.Name
	}
	for _, m := range n.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// selectorLabels are the labels of every series the selectors under node
// read, scrape labels included.
func selectorLabels(node parser.Node, c Catalogue) map[string]bool {
	out := maps.Clone(ScrapeLabels)
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			for l := range c[metricName(vs)] {
				out[l] = true
			}
		}
		return nil
	})
	return out
}

// resultLabels are the labels an expression's result series can carry.
func resultLabels(e parser.Expr, c Catalogue) map[string]bool {
	switch n := e.(type) {
	case *parser.AggregateExpr:
		if n.Without {
			out := resultLabels(n.Expr, c)
			for _, l := range n.Grouping {
				delete(out, l)
			}
			return out
		}
		out := map[string]bool{}
		for _, l := range n.Grouping {
			out[l] = true
		}
		return out
	case *parser.Call:
		out := map[string]bool{}
		for _, a := range n.Args {
			maps.Copy(out, resultLabels(a, c))
		}
		if n.Func.Name == "histogram_quantile" {
			delete(out, "le")
		}
		return out
	case *parser.BinaryExpr:
		if n.LHS.Type() == parser.ValueTypeScalar {
			return resultLabels(n.RHS, c)
		}
		out := resultLabels(n.LHS, c)
		if n.VectorMatching != nil {
			for _, l := range n.VectorMatching.Include {
				out[l] = true
			}
		}
		return out
	case *parser.ParenExpr:
		return resultLabels(n.Expr, c)
	case *parser.UnaryExpr:
		return resultLabels(n.Expr, c)
	case *parser.SubqueryExpr:
		return resultLabels(n.Expr, c)
	case *parser.MatrixSelector:
		return resultLabels(n.VectorSelector, c)
	case *parser.VectorSelector:
		return selectorLabels(n, c)
	default:
		return map[string]bool{}
	}
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return "[" + strings.Join(ks, " ") + "]"
}

// ChartQueries are every query of the chart at dir: its dashboards' and its
// alert rules'.
func ChartQueries(dir string) ([]Query, error) {
	dashboards, err := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Query
	for _, d := range dashboards {
		b, err := os.ReadFile(d)
		if err != nil {
			return nil, err
		}
		qs, err := DashboardQueries(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		out = append(out, qs...)
	}
	b, err := os.ReadFile(filepath.Join(dir, "rules", "railnet.rules.yaml"))
	if err != nil {
		return nil, err
	}
	rules, err := ParseRules(b)
	if err != nil {
		return nil, err
	}
	return append(out, rules.Queries()...), nil
}

// QueryMetrics are the metric names q reads.
func QueryMetrics(q Query) ([]string, error) {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.Expr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q.Where, err)
	}
	var out []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && !slices.Contains(out, metricName(vs)) {
			out = append(out, metricName(vs))
		}
		return nil
	})
	return out, nil
}
