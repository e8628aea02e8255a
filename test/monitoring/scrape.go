package monitoring

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// ChartDir is charts/railnet of this checkout.
func ChartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "railnet")
}

// CheckScrape checks, against one real scrape of a component (Prometheus'
// text format), every dashboard panel and alert of the chart that reads only
// metrics whose names start with one of prefixes (that component's), and
// fails tb unless at least min queries were checked. It returns how many
// were.
func CheckScrape(tb testing.TB, scrape string, min int, prefixes ...string) int {
	tb.Helper()
	c := Catalogue{}
	if err := c.AddText(strings.NewReader(scrape)); err != nil {
		tb.Fatal(err)
	}
	qs, err := ChartQueries(ChartDir())
	if err != nil {
		tb.Fatal(err)
	}
	ours := func(name string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	}
	checked := 0
	for _, q := range qs {
		names, err := QueryMetrics(q)
		if err != nil {
			tb.Error(err)
			continue
		}
		if len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return !ours(n) }) {
			continue
		}
		checked++
		for _, err := range Check(q, c) {
			tb.Errorf("against a real scrape: %v", err)
		}
	}
	if checked < min {
		tb.Errorf("only %d dashboard and alert queries read %v, want at least %d", checked, prefixes, min)
	}
	return checked
}
