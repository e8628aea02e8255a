package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// leakedNetns runs check-leftovers.sh with its network-namespace folders
// pointed at dirs and returns the namespaces it reports, and its exit code.
// TMPDIR is an empty folder, so only what runs on the machine can add other
// reports, which are ignored.
func leakedNetns(t *testing.T, dirs ...string) ([]string, int) {
	t.Helper()
	cmd := exec.Command("bash", "check-leftovers.sh")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "RAILNET_NETNS_DIRS="+strings.Join(dirs, " "))
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var got []string
	in := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case strings.HasPrefix(line, "check-leftovers: test network namespaces left behind"):
			in = true
		case strings.HasPrefix(line, "check-leftovers:"):
			in = false
		case in:
			got = append(got, line)
		}
	}
	return got, code
}

// A network namespace a test made with testutils.NewNS (cnitest-*) and left
// behind fails the check and is named once, though /var/run is /run; other
// namespaces are not a test's.
func TestCheckLeftoversFindsTestNetns(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(root, "run", "netns")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	varRun := filepath.Join(root, "var-run")
	if err := os.Symlink(filepath.Join(root, "run"), varRun); err != nil {
		t.Fatal(err)
	}
	dirs := []string{run, filepath.Join(varRun, "netns"), filepath.Join(root, "missing")}
	for _, name := range []string{"cni4t", "cnitest-1a2b3c4d-5e6f"} {
		if err := os.WriteFile(filepath.Join(run, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, code := leakedNetns(t, dirs...)
	if want := []string{filepath.Join(run, "cnitest-1a2b3c4d-5e6f")}; !slices.Equal(got, want) || code != 1 {
		t.Fatalf("reported %q, exit %d; want %q, exit 1", got, code, want)
	}
	if err := os.Remove(filepath.Join(run, "cnitest-1a2b3c4d-5e6f")); err != nil {
		t.Fatal(err)
	}
	if got, _ := leakedNetns(t, dirs...); len(got) != 0 {
		t.Fatalf("reported %q once the namespace was removed", got)
	}
}
