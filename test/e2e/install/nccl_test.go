package install

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/test/ground"
	"github.com/railnet/railnet/test/story"
)

// checkNCCLConf: with the chart as installed, the webhook's hostPath and
// the agent's --nccl-dir are one folder, so the pod reads the conf file the
// agent wrote for it. The fixture nodes' GID tables never show a pod's
// address (no kernel adds them here), so the file sets no GID index and the
// agent, with its pod's own token under the chart's RBAC and own-node
// policy, puts the warning on the pod.
func checkNCCLConf(ctx context.Context, t *testing.T, c *ground.Cluster, p corev1.Pod) {
	t.Helper()
	ctr := p.Spec.Containers[0].Name
	env, err := c.Exec(ctx, p.Namespace, p.Name, ctr, "env")
	if err != nil || !strings.Contains(env, "NCCL_CONF_FILE=/run/railnet/nccl/nccl.conf\n") || !strings.Contains(env, "RAILNET_POD_UID="+string(p.UID)) {
		t.Errorf("pod %s env (%v):\n%s", p.Name, err, env)
	}
	conf, err := c.Exec(ctx, p.Namespace, p.Name, ctr, "cat", "/run/railnet/nccl/nccl.conf")
	if err != nil || !strings.Contains(conf, "NCCL_IB_HCA==mlx5_0:1,mlx5_1:1,mlx5_2:1,mlx5_3:1,mlx5_4:1,mlx5_5:1,mlx5_6:1,mlx5_7:1\n") ||
		strings.Contains(conf, "\nNCCL_IB_GID_INDEX=") {
		t.Errorf("pod %s NCCL conf file (%v):\n%s", p.Name, err, conf)
	}
	story.WaitFor(ctx, t, "pod "+p.Name+" told its GIDs are missing", func() (bool, string) {
		cur := &corev1.Pod{}
		_ = c.Client.Get(ctx, client.ObjectKeyFromObject(&p), cur)
		w := cur.Annotations["railnet.io/nccl-warning"]
		return strings.Contains(w, "had not added the pod's RoCE v2 GID on net1, net2, net3, net4, net5, net6, net7, net8"), w
	})
}
