package metrics

import (
	"fmt"
	"testing"
)

// 5,000 forged kinds and inject groups make a bounded number of series:
// label values come from requests, which anyone who creates pods writes.
func TestLabelsStayBounded(t *testing.T) {
	m := New()
	for i := range 5000 {
		m.Request("mutate", fmt.Sprintf("Forged%d", i), "allowed", 0)
		m.Injected(fmt.Sprintf("group-%d", i))
	}
	m.Request("mutate", "Pod", "allowed", 0)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, f := range families {
		series[f.GetName()] = len(f.GetMetric())
	}
	if got := series["railnet_webhook_requests_total"]; got != 2 {
		t.Errorf("%d request series for 5,001 kinds, want 2 (Pod and other)", got)
	}
	if got := series["railnet_webhook_injected_pods_total"]; got != MaxGroups+1 {
		t.Errorf("%d injected series for 5,000 groups, want %d (the first %d and other)", got, MaxGroups+1, MaxGroups)
	}
}
