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
func Load(kubeconfig string) (*rest.Config, error) {
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
