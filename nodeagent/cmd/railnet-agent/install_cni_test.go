package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railnet/railnet/api/restconfig"
)

func TestInstallCNI(t *testing.T) {
	src, dest := t.TempDir(), t.TempDir()
	for _, n := range cniPlugins {
		if err := os.WriteFile(filepath.Join(src, n), []byte("binary "+n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := installCNI([]string{"--src=" + src, "--dest=" + dest}); err != nil {
		t.Fatal(err)
	}
	for _, n := range cniPlugins {
		fi, err := os.Stat(filepath.Join(dest, n))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("%s: %v %v", n, fi, err)
		}
	}
	err := installCNI([]string{"--src=" + t.TempDir(), "--dest=" + dest})
	if err == nil || !strings.Contains(err.Error(), "install-cni railnet-ipam into "+dest) {
		t.Fatalf("missing plugin: err %v", err)
	}
	entries, _ := os.ReadDir(dest)
	if len(entries) != len(cniPlugins) {
		t.Errorf("leftover temporary files: %v", entries)
	}
}

func TestRailFlag(t *testing.T) {
	r := railFlag{}
	if err := r.Set("enp11s0f0np0=3"); err != nil || r["enp11s0f0np0"] != 3 {
		t.Fatalf("%v %v", r, err)
	}
	for _, bad := range []string{"enp11s0f0np0", "=1", "eth0=-1", "eth0=x"} {
		err := r.Set(bad)
		if err == nil || !strings.Contains(err.Error(), "want IFNAME=RAIL") {
			t.Errorf("Set(%q) err %v", bad, err)
		}
	}
}

// --help and --version of the agent and of install-cni end at once without
// an error (exit 0); without a kubeconfig the agent says how to give one.
func TestDispatchHelpVersionKubeconfig(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"--version"}, {"install-cni", "--help"}, {"install-cni", "-h"}, {"install-cni", "--version"}} {
		if err := dispatch(context.Background(), args); err != nil {
			t.Errorf("railnet-agent %v: %v", args, err)
		}
	}
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	err := dispatch(context.Background(), []string{"--node-name=n1"})
	if !errors.Is(err, restconfig.ErrNoKubeconfig) {
		t.Errorf("without a kubeconfig: %v", err)
	}
}
