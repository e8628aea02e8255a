package cmdline

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newFS(c Command) (*flag.FlagSet, *bool, *bytes.Buffer) {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.String("listen", ":9443", "address")
	return fs, c.Setup(fs), &out
}

func TestHelpAndVersion(t *testing.T) {
	c := Command{Name: "railnet-agent", Description: "railnet's node agent: RDMA discovery, inventory, device plugin, IPAM",
		Subcommands: []string{"install-cni: copy the CNI plugins into the node's CNI folder"}}
	for _, tc := range []struct {
		args []string
		done bool
		want []string
	}{
		{[]string{"--help"}, true, []string{"railnet-agent: railnet's node agent: RDMA discovery, inventory, device plugin, IPAM\n",
			"railnet-agent install-cni [flags]", "install-cni: copy the CNI plugins", "-listen", "-version"}},
		{[]string{"-h"}, true, []string{"Usage: railnet-agent [flags]"}},
		{[]string{"--version"}, true, []string{"railnet-agent dev (go"}},
		{[]string{"--listen=:1"}, false, nil},
	} {
		fs, v, out := newFS(c)
		c.Stdout = out
		done, err := c.Parse(fs, v, tc.args)
		if err != nil || done != tc.done {
			t.Errorf("%v: done %v, err %v", tc.args, done, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	fs, v, _ := newFS(c)
	if _, err := c.Parse(fs, v, []string{"--no-such-flag"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

// Without a kubeconfig anywhere and outside a pod, the error says how to
// give one, not client-go's KUBERNETES_MASTER hint.
func TestRestConfigWithoutKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := RestConfig("")
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
	cfg, err := RestConfig(kc)
	if err != nil || cfg.Host != "https://127.0.0.1:6443" {
		t.Fatalf("RestConfig(%s) = %v, %v", kc, cfg, err)
	}
	if _, err := RestConfig(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing --kubeconfig file: %v", err)
	}
}
