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
	return Build(ctx, dir+string(filepath.Separator), pkgs...)
}

// Build runs `go build -o out pkgs...` in railnet's module with the flags of
// the images' Dockerfiles (static: CGO_ENABLED=0; -trimpath; stripped: -ldflags
// "-s -w"): what the tests run is what ships — a CNI plugin is a process per
// ADD, so how it is linked shows in its start-up, and the reference plugins are
// built the same way (CNIPluginsTool) — and every binary a test builds shares
// one set of compiled packages in the Go build cache (a cold CI run compiles
// railnet's dependencies once for binaries and once, with -race, for tests).
func Build(ctx context.Context, out string, pkgs ...string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-ldflags", "-s -w", "-o", out}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, b)
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
