package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/monitoring"
	"github.com/railnet/railnet/test/poll"
)

// What an operator sees of the webhook, run as the chart's ServiceAccount:
// the dashboard's and alerts' queries on its metrics read what its /metrics
// serves after an injection and a refusal, and each SpiderMultusConfig
// carries an event saying its NetworkAttachmentDefinition was created.
func TestOperatorSignals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setConfig(t, "  enabled: true\n")
	p := startWebhook(t)
	cluster.EnsureNamespace(t, "spiderpool")
	cluster.EnsureNamespace(t, "operator")
	applied, err := cluster.Apply(ctx, seedObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range applied {
			_ = cluster.Client.Delete(context.Background(), u)
		}
	})
	if _, err := probePod(ctx, "operator", map[string]string{rdmaKey: "rdma-network"}); err != nil {
		t.Fatalf("an annotated pod was refused: %v", err)
	}
	if _, err := probePod(ctx, "operator", map[string]string{rdmaKey: "nope"}); err == nil {
		t.Fatal("a pod naming an unknown group was admitted")
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.ca.CertPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	n := monitoring.CheckScrape(t, string(scrape), 5, "railnet_webhook_", "railnet_certificate_")
	t.Logf("%d dashboard and alert queries checked against the webhook's scrape", n)

	poll.Until(t, 60*time.Second, "NetworkAttachmentDefinitionCreated event on SpiderMultusConfig spiderpool/gpu3-sriov", func() error {
		var list corev1.EventList
		if err := cluster.Client.List(ctx, &list, client.InNamespace("spiderpool"),
			client.MatchingFields{"involvedObject.name": "gpu3-sriov"}); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == "NetworkAttachmentDefinitionCreated" && e.InvolvedObject.Kind == "SpiderMultusConfig" &&
				e.Message == "created NetworkAttachmentDefinition spiderpool/gpu3-sriov" {
				return nil
			}
		}
		return fmt.Errorf("events: %v", list.Items)
	})
}
