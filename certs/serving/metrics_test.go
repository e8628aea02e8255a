package serving

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/railnet/railnet/certs/pki"
	"github.com/railnet/railnet/test/poll"
)

// The expiry metric shows the served certificate and the mounted CA, with
// their serials, once they are loaded; nothing before.
func TestExpiryMetric(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	ca, err := pki.NewCA("issuer-ca", now, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.IssueServing(ca, pki.ServingRequest{CommonName: "railnet-extender", DNSNames: []string{"railnet-extender"}, Validity: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CAFile: filepath.Join(dir, "ca.crt")}
	s, err := New(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(s); n != 0 {
		t.Fatalf("%d series before anything is loaded, want 0", n)
	}
	for path, data := range map[string][]byte{c.CertFile: leaf.CertPEM, c.KeyFile: leaf.KeyPEM, c.CAFile: ca.CertPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() { cancel(); <-done }()
	poll.Until(t, 10*time.Second, "the certificate files loaded", poll.True(s.Healthy))
	const help = `When a certificate stops being valid (Unix seconds): certificate="serving" is the one served now, ` +
		`certificate="ca" each CA clients are asked to trust. Alert on it minus time().`
	want := fmt.Sprintf(`# HELP railnet_certificate_expiry_timestamp_seconds %s
# TYPE railnet_certificate_expiry_timestamp_seconds gauge
railnet_certificate_expiry_timestamp_seconds{certificate="ca",serial="%x",subject="issuer-ca"} %d
railnet_certificate_expiry_timestamp_seconds{certificate="serving",serial="%x",subject="railnet-extender"} %d
`, help, ca.Cert.SerialNumber, ca.Cert.NotAfter.Unix(), leaf.Cert.SerialNumber, leaf.Cert.NotAfter.Unix())
	if err := testutil.CollectAndCompare(s, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
