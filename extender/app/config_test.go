package app

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/railnet/railnet/certs/selfmanaged"
	"github.com/railnet/railnet/certs/serving"
)

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no address to serve on"},
		{Config{HTTPAddr: ":0", HeartbeatTTL: -time.Second}, "--heartbeat-ttl=-1s: must be positive (0 takes the 2m default); a negative TTL would switch staleness off"},
		// HTTPS without certificate files is the self-managed mode.
		{Config{HTTPSAddr: ":0"}, "self-managed certificates need the namespace of the CA secret (--namespace)"},
		{Config{HTTPAddr: ":0", InjectConfig: types.NamespacedName{Name: "railnet-config"}},
			"--inject-configmap=railnet-config needs --namespace, the namespace of that ConfigMap (the chart's release namespace)"},
		{Config{HTTPSAddr: ":0", TLS: TLS{CertFile: "/tls/tls.crt"}},
			`cert-manager mode needs both --tls-cert-file and --tls-key-file (got "/tls/tls.crt" and ""); leave both empty for the self-managed mode`},
		{Config{HTTPSAddr: ":0", TLS: TLS{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key", SchedulerDeployment: "railnet-scheduler"}, Namespace: "railnet"},
			"rolling Deployments on CA changes in cert-manager mode needs the mounted CA file (--tls-ca-file, cert-manager's ca.crt)"},
	} {
		err := Run(t.Context(), nil, tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// Every refusal of the certificate and scheduler-sync settings, as the
// extender's flags reach them.
func TestRunRefusesBadCertificateAndSyncSettings(t *testing.T) {
	files := TLS{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key"}
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"client certificates without the CA file", Config{HTTPSAddr: ":0", TLS: files, RequireClientCert: true},
			"--require-client-cert with --tls-cert-file needs --tls-ca-file, the CA that signs the scheduler's client certificate (or --require-client-cert=false)"},
		{"scheduler Deployment without namespace", Config{HTTPSAddr: ":0", TLS: TLS{SchedulerDeployment: "railnet-scheduler"}},
			"--scheduler-deployment railnet-scheduler needs --namespace, the namespace of that Deployment"},
		{"device plugin ConfigMap without scheduler configurations", Config{HTTPAddr: ":0", Namespace: "railnet", DevicePluginConfigMap: "rdma-devices"},
			"--device-plugin-configmap rdma-devices needs --namespace and --scheduler-configs"},
		{"device plugin ConfigMap without namespace", Config{HTTPAddr: ":0", DevicePluginConfigMap: "rdma-devices", SchedulerConfigs: []string{"sched"}},
			"--device-plugin-configmap rdma-devices needs --namespace and --scheduler-configs"},
		{"a scheduler configuration without a name", Config{HTTPAddr: ":0", Namespace: "railnet", DevicePluginConfigMap: "rdma-devices", SchedulerConfigs: []string{"sched", ":railnet-scheduler"}},
			`--scheduler-configs: ":railnet-scheduler": want <configmap> or <configmap>:<deployment>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(t.Context(), nil, tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Run = %v, want %q", err, tt.want)
			}
		})
	}
}

// The certificate mode is the files when given, else the self-managed CA;
// each mode takes only its own settings.
func TestServingConfigChoosesTheMode(t *testing.T) {
	own := TLS{SchedulerDeployment: "sched", CASecret: "railnet-ca", Service: "railnet-extender", ExtraSANs: []string{"127.0.0.1"},
		CALifetime: time.Hour, CAOverlap: time.Minute, ServingLifetime: 2 * time.Minute, BundleConfigMap: "bundle", ClientCertSecret: "client"}
	files := own
	files.CertFile, files.KeyFile, files.CAFile = "/tls/tls.crt", "/tls/tls.key", "/tls/ca.crt"
	for _, tc := range []struct {
		name string
		tls  TLS
		want serving.Config
	}{
		{"self-managed", own, serving.Config{Namespace: "railnet", CASecret: "railnet-ca", Service: "railnet-extender", ExtraSANs: []string{"127.0.0.1"},
			CALifetime: time.Hour, CAOverlap: time.Minute, ServingLifetime: 2 * time.Minute,
			BundleConfigMaps:   []types.NamespacedName{{Namespace: "railnet", Name: "bundle"}},
			ClientCerts:        []selfmanaged.ClientCertOptions{{Secret: types.NamespacedName{Namespace: "railnet", Name: "client"}, CommonName: "railnet-scheduler"}},
			RolloutDeployments: []types.NamespacedName{{Namespace: "railnet", Name: "sched"}}}},
		// The CA Secret, bundle ConfigMap and client Secret are the
		// self-managed mode's: in cert-manager mode cert-manager keeps them.
		{"cert-manager files", files, serving.Config{CertFile: "/tls/tls.crt", KeyFile: "/tls/tls.key", CAFile: "/tls/ca.crt",
			Namespace: "railnet", CASecret: "railnet-ca", Service: "railnet-extender", ExtraSANs: []string{"127.0.0.1"},
			CALifetime: time.Hour, CAOverlap: time.Minute, ServingLifetime: 2 * time.Minute,
			RolloutDeployments: []types.NamespacedName{{Namespace: "railnet", Name: "sched"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{HTTPSAddr: ":0", Namespace: "railnet", RequireClientCert: true, TLS: tc.tls}
			got, err := c.servingConfig()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
