package restconfig

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrNoKubeconfig says how to give railnet a client configuration.
var ErrNoKubeconfig = errors.New("no kubeconfig found: give one with --kubeconfig=FILE or $KUBECONFIG, " +
	"or run in a pod, where the in-cluster configuration (the pod's service account) is used")

// Load loads the API server's client configuration: kubeconfig when
// given, else $KUBECONFIG, else the in-cluster configuration, else
// ~/.kube/config. When there is none the error is ErrNoKubeconfig, not
// client-go's KUBERNETES_MASTER hint.
//
// Client-side rate limiting is off (QPS -1), as in controller-runtime's
// loader, which the extender uses: the API server's priority and fairness
// decides. client-go's default of 5 requests/s with bursts of 10 made the
// agent's IPAM wait 200 ms per request once a node's pods asked for more
// than ten addresses at once (one IPAllocation Create per interface).
func Load(kubeconfig string) (*rest.Config, error) {
	cfg, err := load(kubeconfig)
	if err != nil {
		return nil, err
	}
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	return cfg, nil
}

func load(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	if kubeconfig == "" && os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return nil, ErrNoKubeconfig
	}
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}
