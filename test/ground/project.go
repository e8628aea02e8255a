package ground

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the folder of railnet's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the railnet module (go env GOMOD = %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// BuildCommands builds railnet's own commands (package paths relative to the
// module root, e.g. "./nodeagent/cmd/railnet-ipam") into dir, one binary per
// package named after its folder.
func BuildCommands(ctx context.Context, dir string, pkgs ...string) error {
	return buildCommands(ctx, dir, nil, nil, pkgs)
}

// buildCommands is BuildCommands with extra go build flags and environment.
func buildCommands(ctx context.Context, dir string, flags, env, pkgs []string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	args := append(append([]string{"build", "-o", dir + string(filepath.Separator)}, flags...), pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// BuildCommandsT is BuildCommands into a new temporary folder for one test.
func BuildCommandsT(tb TB, pkgs ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := BuildCommands(tb.Context(), dir, pkgs...); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// BuildPluginsT builds railnet's CNI plugins (package paths as for
// BuildCommands) as the agent's image ships them — static and stripped:
// CGO_ENABLED=0, -trimpath, -ldflags "-s -w", as the reference plugins are
// built too (CNIPluginsTool) — into a new temporary folder for one test. A
// plugin is a process per ADD, so how it is linked shows in its start-up.
func BuildPluginsT(tb TB, pkgs ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := buildCommands(tb.Context(), dir, []string{"-trimpath", "-ldflags", "-s -w"}, []string{"CGO_ENABLED=0"}, pkgs); err != nil {
		tb.Fatal(err)
	}
	return dir
}
