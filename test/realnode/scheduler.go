package realnode

import (
	"fmt"
	"os"
	"path/filepath"

	schedconfigv1 "k8s.io/kube-scheduler/config/v1"

	"github.com/railnet/railnet/test/ground"
)

// RunScheduler runs the cluster's kube-scheduler on this node's host
// network, as kubeadm runs it (a static pod with hostNetwork and no cluster
// DNS), as system:kube-scheduler, with the given extenders; start the ground
// with NoScheduler so it is the only one.
func (n *Node) RunScheduler(extenders []schedconfigv1.Extender) error {
	kc := filepath.Join(n.Dir, "kube-scheduler.kubeconfig")
	if err := n.cluster.WriteKubeconfig(kc, n.APIServer, n.cluster.SchedulerAuth()); err != nil {
		return err
	}
	b, err := ground.SchedulerConfig(kc, nil, nil, extenders)
	if err != nil {
		return err
	}
	path := filepath.Join(n.Dir, "kube-scheduler.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("scheduler config: %w", err)
	}
	return n.Run("kube-scheduler", n.bins.Scheduler, "--config="+path, "--bind-address=127.0.0.1",
		"--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc, "--cert-dir="+filepath.Join(n.Dir, "kube-scheduler"))
}
