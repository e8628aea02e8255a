package ground

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RailnetSchedulerModule is railnet-scheduler's own Go module (kube-scheduler
// with railnet's plugin), relative to railnet's module root: it requires
// k8s.io/kubernetes, which needs replace lines the main module must not carry.
const RailnetSchedulerModule = "extender/cmd/railnet-scheduler"

// BuildRailnetScheduler builds railnet-scheduler from the working tree into
// the cache (<cache>/bin/railnet-scheduler/) and returns its path. go build
// decides what is stale: a cold build compiles kube-scheduler (minutes on 2
// cores), a warm one relinks. Concurrent callers take turns through a lock.
func BuildRailnetScheduler(ctx context.Context) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "bin", "railnet-scheduler")
	if err := os.MkdirAll(filepath.Join(cache, "locks"), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := LockFile(ctx, filepath.Join(cache, "locks", "railnet-scheduler.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	bin := filepath.Join(dir, "railnet-scheduler")
	progressf("go build %s (cold: several minutes on 2 cores)", RailnetSchedulerModule)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w "+KubernetesLDFlags(KubernetesVersion), "-o", bin, ".")
	cmd.Dir = filepath.Join(root, RailnetSchedulerModule)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build railnet-scheduler: %w\n%s", err, tail(string(out), 40))
	}
	return bin, nil
}

// KubernetesLDFlags set the version a Kubernetes binary built from its
// module reports (without them /version says v0.0.0-master).
func KubernetesLDFlags(version string) string {
	minor := strings.Split(strings.TrimPrefix(version, "v"), ".")
	return fmt.Sprintf("-X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=%s -X k8s.io/component-base/version.gitMinor=%s",
		version, minor[0], minor[1])
}
