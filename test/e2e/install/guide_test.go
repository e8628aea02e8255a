package install

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/railnet/railnet/test/ground"
)

// guide runs the operator guide's commands as written, each exactly once,
// with the operator's tools (helm and kubectl built at the cluster's version)
// on PATH, KUBECONFIG set and the repository root as working directory.
type guide struct {
	cmds []string
	ran  []bool
	env  []string
	root string
}

func newGuide(ctx context.Context, t *testing.T, kubeconfig string) *guide {
	t.Helper()
	chart, err := ground.ChartDir(ctx)
	must(t, err)
	cmds, err := ground.GuideCommands(filepath.Join(chart, "docs", "operator-guide.md"))
	must(t, err)
	kubectl, err := ground.Kubectl(ctx)
	must(t, err)
	helmDir, err := ground.BuildGoTool(ctx, ground.HelmTool())
	must(t, err)
	home := t.TempDir()
	env := append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+home,
		"PATH="+filepath.Dir(kubectl)+":"+helmDir+":"+os.Getenv("PATH"),
		"HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	return &guide{cmds: cmds, ran: make([]bool, len(cmds)), env: env, root: filepath.Dir(filepath.Dir(chart))}
}

// run runs the first command of the guide not run yet that starts with
// prefix, with extra arguments appended (the test ground's own values,
// said where they are added), and returns its output; extraEnv is added to
// its environment.
func (g *guide) run(ctx context.Context, t *testing.T, prefix string, extraEnv []string, extra ...string) string {
	t.Helper()
	for i, c := range g.cmds {
		if g.ran[i] || !strings.HasPrefix(c, prefix) {
			continue
		}
		g.ran[i] = true
		line := c
		for _, a := range extra {
			line += " '" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Dir, cmd.Env = g.root, append(g.env, extraEnv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the operator guide's command failed:\n$ %s\n%v\n%s", line, err, out)
		}
		t.Logf("$ %s\n%s", line, out)
		return string(out)
	}
	t.Fatalf("the operator guide has no command %q left to run (it has %q)", prefix, g.cmds)
	return ""
}

// allRun fails unless every command of the guide was run.
func (g *guide) allRun(t *testing.T) {
	t.Helper()
	for i, c := range g.cmds {
		if !g.ran[i] {
			t.Errorf("the operator guide's command was never run by this test: %s", c)
		}
	}
}
