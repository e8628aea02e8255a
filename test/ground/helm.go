package ground

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
)

// Helm runs the helm command built from its Go module (HelmTool), with its
// cache, config and data folders in a new temporary folder so nothing of the
// user's is read or written, and returns its combined output.
func Helm(ctx context.Context, args ...string) ([]byte, error) {
	dir, err := BuildGoTool(ctx, HelmTool())
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "railnet-helm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "helm"), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	return cmd.CombinedOutput()
}

// ChartDir returns charts/railnet of the module.
func ChartDir(ctx context.Context) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts", "railnet"), nil
}
