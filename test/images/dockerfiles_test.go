package images

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/railnet/railnet/test/ground"
)

var (
	buildLine = regexp.MustCompile(`^RUN CGO_ENABLED=0 go build (.*) -o (\S+) (.+)$`)
	copyLine  = regexp.MustCompile(`^COPY --from=build (.+) (\S+)$`)
)

func TestDockerfileBinariesBuild(t *testing.T) {
	root, err := ground.ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "Dockerfile"))
	if len(files) < 3 {
		t.Fatalf("want a Dockerfile for webhook, extender and nodeagent, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			out := t.TempDir()
			built := map[string]bool{}
			var copied []string
			lines := readLines(t, f)
			for _, l := range lines {
				if m := buildLine.FindStringSubmatch(l); m != nil {
					dest := m[2]
					pkgs := strings.Fields(m[3])
					args := append([]string{"build", "-trimpath", "-o", out + "/"}, pkgs...)
					cmd := exec.Command("go", args...)
					cmd.Dir = root
					cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
					if b, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("%s: go build %v: %v\n%s", f, pkgs, err, b)
					}
					for _, p := range pkgs {
						name := filepath.Base(p)
						if !strings.HasSuffix(dest, "/") {
							name = filepath.Base(dest)
						}
						built["/out/"+name] = true
						if _, err := os.Stat(filepath.Join(out, filepath.Base(p))); err != nil && strings.HasSuffix(dest, "/") {
							t.Errorf("%s: %s was not produced", f, p)
						}
					}
				}
				if m := copyLine.FindStringSubmatch(l); m != nil {
					copied = append(copied, strings.Fields(m[1])...)
				}
			}
			if len(built) == 0 || len(copied) == 0 {
				t.Fatalf("%s has no `RUN CGO_ENABLED=0 go build` line or no COPY --from=build", f)
			}
			for _, c := range copied {
				if !built[c] {
					t.Errorf("%s copies %s, which no build line produces (built: %v)", f, c, built)
				}
			}
		})
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, strings.TrimSpace(s.Text()))
	}
	return out
}
