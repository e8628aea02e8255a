package extender

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/railnet/railnet/api/injectgroup"
	"github.com/railnet/railnet/extender/app"
	"github.com/railnet/railnet/extender/schedconfig"
	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/poll"
)

// Each test uses its own RDMA resource, so nodes of other tests never fit
// its pods; all of them are managed by the extender.
var resources = []string{
	"spidernet.io/e2e_rails",
	"spidernet.io/e2e_down",
	"spidernet.io/e2e_job",
	"spidernet.io/e2e_group",
	"spidernet.io/e2e_fold",
	"spidernet.io/e2e_inject_config",
	benchResource,
	"spidernet.io/e2e_plugin",
}

// injectConfigMap is the webhook's ConfigMap as the chart names it (release
// railnet), which the extender follows; excludedNamespace is excluded there.
var injectConfigMap = types.NamespacedName{Namespace: chartNamespace, Name: "railnet-config"}

const (
	excludedNamespace = "e2e-excluded"
	injectConf        = "podResourceInject: {enabled: true, namespacesExclude: [" + excludedNamespace + "]}"
)

// chartNamespace is where the chart's ServiceAccounts live.
const chartNamespace = "railnet"

var (
	cluster *ground.Cluster
	// healthURL is the extender's plain-HTTP /healthz; filterURL its
	// plain-HTTP filter verb.
	healthURL, filterURL string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctrllog.SetLogger(klog.NewKlogr())
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "extender e2e setup:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "railnet-extender-e2e-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	ca, err := ground.NewCA("railnet-extender-e2e-ca")
	if err != nil {
		return fail(err)
	}
	crt, key, err := ca.Issue("railnet-extender", []string{"127.0.0.1"})
	if err != nil {
		return fail(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, crt, 0o600); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return fail(err)
	}
	// Listen first: the scheduler's configuration needs the URL.
	httpL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	httpsL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	healthURL = fmt.Sprintf("http://%s/healthz", httpL.Addr())
	filterURL = fmt.Sprintf("http://%s/filter", httpL.Addr())
	ext := schedconfig.Extender(schedconfig.Options{
		URLPrefix: "https://" + httpsL.Addr().String(),
		Resources: resources,
		TLS:       &schedconfigv1.ExtenderTLSConfig{CAData: ca.CertPEM},
	})
	pct := schedconfig.PercentageOfNodesToScore

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	cl, err := ground.Launch(ctx, ground.Options{Extenders: []schedconfigv1.Extender{ext}, PercentageOfNodesToScore: &pct})
	cancel()
	if err != nil {
		return fail(err)
	}
	defer cl.Stop()
	cluster = cl

	// The extender runs as the chart's ServiceAccount, with exactly the
	// chart's RBAC.
	setup, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cl.AddNamespace(setup, chartNamespace); err != nil {
		return fail(err)
	}
	if err := cl.Client.Create(setup, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: injectConfigMap.Namespace, Name: injectConfigMap.Name},
		Data:       map[string]string{injectgroup.ConfigKey: injectConf},
	}); err != nil {
		return fail(err)
	}
	kubeconfigs, err := cl.ChartRBAC(setup, dir, "railnet", chartNamespace, []string{"extender"})
	if err != nil {
		return fail(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfigs["extender"])
	if err != nil {
		return fail(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Run(runCtx, rc, app.Config{
			HTTPListener: httpL, HTTPSListener: httpsL, TLS: app.TLS{CertFile: certFile, KeyFile: keyFile},
			HeartbeatTTL: 30 * time.Minute, InjectConfig: injectConfigMap,
		})
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "extender:", err)
		}
	}()
	if err := waitHealthy(done); err != nil {
		return fail(err)
	}
	return m.Run()
}

func waitHealthy(done <-chan error) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	return poll.Wait(context.Background(), 2*time.Minute, "the extender healthy at "+healthURL, func() error {
		select {
		case err := <-done:
			return poll.Final(fmt.Errorf("extender stopped before it was healthy: %v", err))
		default:
		}
		resp, err := hc.Get(healthURL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
}
