package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// An unknown --rdma-netns-mode is refused before anything starts, with the
// values it takes.
func TestRunRefusesUnknownNetnsMode(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	err := dispatch(context.Background(), []string{"--node-name=n1", "--kubeconfig=" + kc, "--rdma-netns-mode=private"})
	want := `--rdma-netns-mode="private": want shared or exclusive, or leave it empty to ask the kernel`
	if err == nil || err.Error() != want {
		t.Fatalf("dispatch = %v, want %q", err, want)
	}
}
