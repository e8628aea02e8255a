package serving

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestNewRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"half a pair", Config{CertFile: "/tls/tls.crt"},
			`cert-manager mode needs both --tls-cert-file and --tls-key-file (got "/tls/tls.crt" and ""); leave both empty for the self-managed mode`},
		{"no namespace", Config{Service: "railnet-webhook"},
			"self-managed certificates need the namespace of the CA secret (--namespace)"},
		{"roll without the CA file", Config{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key",
			RolloutDeployments: []types.NamespacedName{{Namespace: "railnet", Name: "railnet-scheduler"}}},
			"rolling Deployments on CA changes in cert-manager mode needs the mounted CA file (--tls-ca-file, cert-manager's ca.crt)"},
		{"bad SAN", Config{Namespace: "railnet", Service: "railnet-webhook", ExtraSANs: []string{"https://x"}},
			`serving certificate: extra SAN "https://x" is neither an IP address nor a DNS name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(nil, tc.c)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestModeFromFiles(t *testing.T) {
	s, err := New(nil, Config{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Healthy() || s.HealthError() == nil || s.Bundle() != nil {
		t.Fatal("an unstarted file source claims a certificate or a bundle")
	}
	if (Config{}).SelfManaged() != true || (Config{CertFile: "x", KeyFile: "y"}).SelfManaged() {
		t.Fatal("mode selection is wrong")
	}
}
