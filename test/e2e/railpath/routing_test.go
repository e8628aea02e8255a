package railpath

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/test/story"
)

// checkPolicyRouting looks inside the pod's running container through the
// kubelet (exec, as `kubectl exec` does): each netN has `from <its IP> lookup
// <99+N>`, and table 99+N routes the rail subnet and the default via the rail
// gateway out of netN, as the seed's step 2 shows; and runc gave the
// container the RDMA device nodes of its 8 rails.
func checkPolicyRouting(ctx context.Context, t *testing.T, e *story.Env, pod corev1.Pod) {
	t.Helper()
	c := e.Cluster
	exec := func(cmd ...string) string {
		t.Helper()
		out, err := c.Exec(ctx, pod.Namespace, pod.Name, pod.Spec.Containers[0].Name, cmd...)
		if err != nil {
			t.Fatalf("pod %s: %v", pod.Name, err)
		}
		return out
	}
	rules := exec("ip", "-4", "rule")
	for i := 1; i <= 8; i++ {
		dev := fmt.Sprintf("net%d", i)
		fields := strings.Fields(exec("ip", "-4", "-o", "addr", "show", "dev", dev))
		var ip string
		for j, f := range fields {
			if f == "inet" && j+1 < len(fields) {
				ip, _, _ = strings.Cut(fields[j+1], "/")
			}
		}
		if !strings.HasPrefix(ip, fmt.Sprintf("172.16.%d.", 10+i)) {
			t.Fatalf("pod %s: %s has address %q, want one of rail %d's 172.16.%d.0/24", pod.Name, dev, ip, i, 10+i)
		}
		table := 99 + i
		if !strings.Contains(rules, fmt.Sprintf("from %s lookup %d", ip, table)) {
			t.Errorf("pod %s: no rule `from %s lookup %d` for %s; rules:\n%s", pod.Name, ip, table, dev, rules)
		}
		routes := exec("ip", "-4", "route", "show", "table", fmt.Sprint(table))
		wantDefault := fmt.Sprintf("default via 172.16.%d.254 dev %s", 10+i, dev)
		wantSubnet := fmt.Sprintf("172.16.%d.0/24 dev %s", 10+i, dev)
		if !strings.Contains(routes, wantDefault) || !strings.Contains(routes, wantSubnet) {
			t.Errorf("pod %s: table %d lacks %q or %q:\n%s", pod.Name, table, wantDefault, wantSubnet, routes)
		}
	}
	devs := exec("ls", "-l", "/dev/infiniband")
	for i := range 8 {
		if !hasCharDevice(devs, fmt.Sprintf("uverbs%d", i), 231, 192+i) {
			t.Errorf("pod %s: /dev/infiniband lacks the character device uverbs%d (231:%d) of rail %d:\n%s", pod.Name, i, 192+i, i+1, devs)
		}
	}
}

// hasCharDevice finds `crw... 231, 192 <date> uverbs0` in `ls -l` output.
func hasCharDevice(ls, name string, major, minor int) bool {
	for _, line := range strings.Split(ls, "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && strings.HasPrefix(f[0], "c") && f[len(f)-1] == name &&
			f[4] == fmt.Sprintf("%d,", major) && f[5] == fmt.Sprint(minor) {
			return true
		}
	}
	return false
}
