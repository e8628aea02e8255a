package app

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no address to serve on"},
		{Config{HTTPAddr: ":0", HeartbeatTTL: -time.Second}, "--heartbeat-ttl=-1s: must be positive (0 takes the 2m default); a negative TTL would switch staleness off"},
		{Config{HTTPSAddr: ":0"}, "HTTPS needs --tls-cert-file and --tls-key-file"},
		{Config{HTTPAddr: ":0", InjectConfig: types.NamespacedName{Name: "railnet-config"}},
			"--inject-configmap=railnet-config needs --namespace, the namespace of that ConfigMap (the chart's release namespace)"},
		{Config{HTTPSAddr: ":0", CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"}, "/nonexistent.crt"},
	} {
		err := Run(t.Context(), nil, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
