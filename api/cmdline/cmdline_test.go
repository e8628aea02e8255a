package cmdline

import (
	"bytes"
	"flag"
	"os/exec"
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

// The CNI plugins use this package, and a plugin is exec'ed once per
// interface of every pod: neither it nor any plugin may link client-go or
// apimachinery, whose package initialisation costs milliseconds at each
// exec (railnet-dra-cni once linked 310 Kubernetes packages for a file
// format and a type).
func TestLinksNoKubernetes(t *testing.T) {
	const mod = "github.com/railnet/railnet/"
	pkgs := []string{"api/cmdline", "nodeagent/cmd/railnet-ipam", "nodeagent/cmd/railnet-coordinator", "nodeagent/cmd/railnet-dra-cni"}
	args := []string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}
	for _, p := range pkgs {
		args = append(args, mod+p)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(pkgs) {
		t.Fatalf("go list answered for %d packages, want %d:\n%s", len(lines), len(pkgs), out)
	}
	for _, line := range lines {
		deps := strings.Fields(line)
		var kube []string
		for _, p := range deps[1:] {
			if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") {
				kube = append(kube, p)
			}
		}
		if len(kube) > 0 {
			t.Errorf("%s links %d Kubernetes packages (%s …); keep Kubernetes clients in api/restconfig and what a plugin shares with the agent in a Kubernetes-free package (nodeagent/ipam/ipamwire, nodeagent/dra/claimfiles)",
				strings.TrimPrefix(deps[0], mod), len(kube), strings.Join(kube[:min(3, len(kube))], ", "))
		}
	}
}
