package restconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without a kubeconfig anywhere and outside a pod, the error says how to
// give one, not client-go's KUBERNETES_MASTER hint.
func TestLoadWithoutKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := Load("")
	if !errors.Is(err, ErrNoKubeconfig) {
		t.Fatalf("err = %v, want ErrNoKubeconfig", err)
	}
	if !strings.Contains(err.Error(), "--kubeconfig=FILE") || strings.Contains(err.Error(), "KUBERNETES_MASTER") {
		t.Errorf("message %q", err)
	}
	// A kubeconfig named explicitly is read.
	kc := filepath.Join(t.TempDir(), "kc")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(kc)
	if err != nil || cfg.Host != "https://127.0.0.1:6443" {
		t.Fatalf("Load(%s) = %v, %v", kc, cfg, err)
	}
	if cfg.QPS != -1 {
		t.Errorf("QPS = %v, want -1: client-go's default 5 requests/s would throttle the agent's IPAM", cfg.QPS)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing --kubeconfig file: %v", err)
	}
}
