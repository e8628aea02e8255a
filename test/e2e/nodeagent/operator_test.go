package nodeagent

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/monitoring"
	"github.com/railnet/railnet/test/poll"
)

// checkQueriesOnScrape reads the agent's /metrics as Prometheus would and
// checks every dashboard panel and alert of the chart that reads only the
// agent's inventory metrics: each metric, label and label value it names is
// in this real scrape.
func checkQueriesOnScrape(t *testing.T, addr string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := monitoring.CheckScrape(t, string(b), 10, "railnet_rdma_", "railnet_nic_", "railnet_deviceplugin_", "railnet_rdmanode_")
	t.Logf("%d dashboard and alert queries checked against the agent's scrape", n)
}

// waitNodeEvents waits for the agent's events on node, with these reasons
// in this order, as kubectl describe node lists them.
func waitNodeEvents(t *testing.T, node string, reasons ...string) []corev1.Event {
	t.Helper()
	var got []corev1.Event
	poll.Until(t, 20*time.Second, fmt.Sprintf("events of node %s by railnet-agent with reasons %v", node, reasons), func() error {
		var list corev1.EventList
		if err := cluster.Client.List(t.Context(), &list, client.MatchingFields{"involvedObject.kind": "Node", "involvedObject.name": node}); err != nil {
			return err
		}
		got = got[:0]
		for _, e := range list.Items {
			if e.Source.Component == "railnet-agent" {
				got = append(got, e)
			}
		}
		slices.SortFunc(got, func(a, b corev1.Event) int { return a.FirstTimestamp.Compare(b.FirstTimestamp.Time) })
		var seen []string
		for _, e := range got {
			seen = append(seen, e.Reason)
		}
		if !slices.Equal(seen, reasons) {
			return fmt.Errorf("reasons %v", seen)
		}
		return nil
	})
	return got
}
