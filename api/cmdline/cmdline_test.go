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
// interface of every pod: it must not link client-go or apimachinery,
// whose package initialisation costs milliseconds at each exec.
func TestLinksNoKubernetes(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/railnet/railnet/api/cmdline").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") {
			t.Errorf("cmdline links %s; keep Kubernetes clients in package restconfig", p)
		}
	}
}
