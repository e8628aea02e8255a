package ground

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"
)

// Versions of the control plane the test ground builds.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.3"
)

// GoTool describes binaries built from public Go modules through a throwaway
// builder module that requires them. Modules whose own go.mod has replace
// directives cannot be `go install`ed; requiring them from a builder module
// with the needed replace lines can.
type GoTool struct {
	// Name and Version key the cache folder: <cache>/bin/<Name>-<Version>/.
	Name, Version string
	// Require lists module → version.
	Require map[string]string
	// Replace lists module → "module version" (or a local path).
	Replace map[string]string
	// Binaries maps a binary name to its main package.
	Binaries map[string]string
	// LDFlags are passed to go build (after -s -w).
	LDFlags string
	// Env is added to the go commands' environment, e.g. CGO_ENABLED=0.
	Env []string
	// RequireAs names a go.mod of railnet's (relative to its module root)
	// whose requirements the builder module requires too. The tool then
	// compiles with the module versions railnet's own builds select, so the
	// packages both use (client-go, apimachinery, kube-scheduler...) are
	// compiled once and found in the Go build cache by the other; with the
	// tool's go.mod alone a dozen shared modules (golang.org/x/net, x/sys,
	// prometheus, otel, k8s.io patch releases) differ and everything above
	// them compiles twice on a cold machine.
	RequireAs string
}

// CacheDir is where built binaries and builder modules live:
// $RAILNET_BIN_CACHE, else ~/.cache/railnet.
func CacheDir() (string, error) {
	if d := os.Getenv("RAILNET_BIN_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache directory (set RAILNET_BIN_CACHE): %w", err)
	}
	return filepath.Join(d, "railnet"), nil
}

// Progress receives one line per build step; tests and the CLI point it at
// stderr so a cold build (minutes) is not silent.
var Progress io.Writer = os.Stderr

func progressf(format string, args ...any) {
	if Progress != nil {
		fmt.Fprintf(Progress, "ground: "+format+"\n", args...)
	}
}

// BuildGoTool returns the folder holding t's binaries, building them first
// unless a complete cached build exists. Concurrent callers, in this process
// or others, wait for one build through a file lock.
func BuildGoTool(ctx context.Context, t GoTool) (string, error) {
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	key := t.Name + "-" + t.Version
	binDir := filepath.Join(root, "bin", key)
	if complete(binDir, t) {
		return binDir, nil
	}
	if err := os.MkdirAll(filepath.Join(root, "locks"), 0o755); err != nil {
		return "", err
	}
	unlock, err := LockFile(ctx, filepath.Join(root, "locks", key+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if complete(binDir, t) { // another process built it while we waited
		return binDir, nil
	}

	start := time.Now()
	progressf("building %s %s from the Go module proxy (cold: several minutes on 2 cores; cached afterwards in %s)", t.Name, t.Version, binDir)
	modDir := filepath.Join(root, "builders", key)
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return "", err
	}
	if t.RequireAs != "" {
		modRoot, err := ModuleRoot(ctx)
		if err != nil {
			return "", err
		}
		gomod, err := os.ReadFile(filepath.Join(modRoot, t.RequireAs))
		if err != nil {
			return "", err
		}
		if t.Require, err = requireAs(t.Require, gomod); err != nil {
			return "", fmt.Errorf("%s: %w", t.RequireAs, err)
		}
	}
	if err := os.WriteFile(filepath.Join(modDir, "go.mod"), builderGoMod(t), 0o644); err != nil {
		return "", err
	}
	if err := goCmd(ctx, modDir, t.Env, "mod", "tidy"); err != nil {
		return "", fmt.Errorf("resolve builder module for %s %s: %w", t.Name, t.Version, err)
	}
	tmp, err := os.MkdirTemp(filepath.Join(root, "bin"), "."+key+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	names := sortedKeys(t.Binaries)
	for _, name := range names {
		progressf("  go build %s", t.Binaries[name])
		args := []string{"build", "-trimpath", "-ldflags", strings.TrimSpace("-s -w " + t.LDFlags), "-o", filepath.Join(tmp, name), t.Binaries[name]}
		if err := goCmd(ctx, modDir, t.Env, args...); err != nil {
			return "", fmt.Errorf("build %s of %s %s: %w", name, t.Name, t.Version, err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(binDir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, binDir); err != nil {
		return "", err
	}
	progressf("built %s %s in %s", t.Name, t.Version, time.Since(start).Round(time.Second))
	return binDir, nil
}

func complete(binDir string, t GoTool) bool {
	if _, err := os.Stat(filepath.Join(binDir, ".complete")); err != nil {
		return false
	}
	for name := range t.Binaries {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			return false
		}
	}
	return true
}

func builderGoMod(t GoTool) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "module railnet.local/builder/%s\n\ngo 1.26\n\n", t.Name)
	for _, m := range sortedKeys(t.Require) {
		fmt.Fprintf(&b, "require %s %s\n", m, t.Require[m])
	}
	b.WriteString("\n")
	// tool lines keep `go mod tidy` from dropping the requires.
	pkgs := map[string]bool{}
	for _, p := range t.Binaries {
		pkgs[p] = true
	}
	for _, p := range sortedKeys(pkgs) {
		fmt.Fprintf(&b, "tool %s\n", p)
	}
	b.WriteString("\n")
	for _, m := range sortedKeys(t.Replace) {
		fmt.Fprintf(&b, "replace %s => %s\n", m, t.Replace[m])
	}
	return b.Bytes()
}

func goCmd(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 40))
	}
	return nil
}

// LockFile takes an exclusive lock on the file at path (created if
// missing), waiting until ctx ends; the returned func releases it. Test
// processes use it to take turns (builds, network choices).
func LockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited {
			progressf("waiting for another build holding %s", path)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// KubernetesTool describes kube-apiserver, kube-scheduler,
// kube-controller-manager, kubelet and kube-proxy at version (e.g. v1.37.2). k8s.io/kubernetes points
// its staging modules at ./staging with replace directives; the builder module
// replaces each staging module that k8s.io/kubernetes requires with its
// published v0.x.y version, read from k8s.io/kubernetes's own go.mod.
func KubernetesTool(ctx context.Context, version string) (GoTool, error) {
	gomod, err := downloadGoMod(ctx, "k8s.io/kubernetes", version)
	if err != nil {
		return GoTool{}, err
	}
	staging := "v0." + strings.TrimPrefix(version, "v1.")
	replace, err := stagingReplaces(gomod, staging)
	if err != nil {
		return GoTool{}, err
	}
	return GoTool{
		Name:      "kubernetes",
		Version:   version,
		Require:   map[string]string{"k8s.io/kubernetes": version},
		RequireAs: RailnetSchedulerModule + "/go.mod",
		Replace:   replace,
		Binaries: map[string]string{
			"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
			"kube-scheduler":          "k8s.io/kubernetes/cmd/kube-scheduler",
			"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
			"kubelet":                 "k8s.io/kubernetes/cmd/kubelet",
			"kube-proxy":              "k8s.io/kubernetes/cmd/kube-proxy",
		},
		// Without these /version says v0.0.0-master and clients refuse it.
		LDFlags: KubernetesLDFlags(version),
	}, nil
}

// requireAs returns require plus every module the go.mod text requires, at
// its version, except railnet's own modules; when that go.mod requires one of
// require's modules at another version, require alone (the tool's version is
// not negotiable).
func requireAs(require map[string]string, gomod []byte) (map[string]string, error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range f.Require {
		if v, ok := require[r.Mod.Path]; ok && v != r.Mod.Version {
			return require, nil
		}
	}
	out := maps.Clone(require)
	for _, r := range f.Require {
		if !strings.HasPrefix(r.Mod.Path, "github.com/railnet/") {
			out[r.Mod.Path] = r.Mod.Version
		}
	}
	return out, nil
}

// stagingReplaces turns k8s.io/kubernetes's "k8s.io/X => ./staging/src/k8s.io/X"
// lines into "k8s.io/X => k8s.io/X <staging version>" for every X it requires
// (modules it does not require, such as sample-controller, are not published
// at every version and are left out).
func stagingReplaces(gomod []byte, stagingVersion string) (map[string]string, error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return nil, fmt.Errorf("parse k8s.io/kubernetes go.mod: %w", err)
	}
	required := map[string]bool{}
	for _, r := range f.Require {
		required[r.Mod.Path] = true
	}
	out := map[string]string{}
	for _, r := range f.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") && required[r.Old.Path] {
			out[r.Old.Path] = r.Old.Path + " " + stagingVersion
		}
	}
	if len(out) == 0 {
		return nil, errors.New("k8s.io/kubernetes go.mod has no staging replace lines")
	}
	return out, nil
}

// EtcdTool describes etcd at version (e.g. v3.7.3); its main package is the
// server module's root.
func EtcdTool(version string) GoTool {
	return GoTool{
		Name:     "etcd",
		Version:  version,
		Require:  map[string]string{"go.etcd.io/etcd/server/v3": version},
		Binaries: map[string]string{"etcd": "go.etcd.io/etcd/server/v3"},
	}
}

func downloadGoMod(ctx context.Context, module, version string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("go mod download %s@%s: %w\n%s%s", module, version, err, out, ee.Stderr)
		}
		return nil, fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	if info.Error != "" {
		return nil, fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	return os.ReadFile(info.GoMod)
}

// Binaries are the control plane executables.
type Binaries struct {
	Etcd, APIServer, Scheduler, ControllerManager, Kubelet, KubeProxy string
}

// BuildControlPlane builds (or finds in the cache) etcd and the Kubernetes
// control plane binaries.
func BuildControlPlane(ctx context.Context) (Binaries, error) {
	etcdDir, err := BuildGoTool(ctx, EtcdTool(EtcdVersion))
	if err != nil {
		return Binaries{}, err
	}
	kt, err := cachedKubernetesTool(ctx)
	if err != nil {
		return Binaries{}, err
	}
	kubeDir, err := BuildGoTool(ctx, kt)
	if err != nil {
		return Binaries{}, err
	}
	return Binaries{
		Etcd:              filepath.Join(etcdDir, "etcd"),
		APIServer:         filepath.Join(kubeDir, "kube-apiserver"),
		Scheduler:         filepath.Join(kubeDir, "kube-scheduler"),
		ControllerManager: filepath.Join(kubeDir, "kube-controller-manager"),
		Kubelet:           filepath.Join(kubeDir, "kubelet"),
		KubeProxy:         filepath.Join(kubeDir, "kube-proxy"),
	}, nil
}

// cachedKubernetesTool avoids `go mod download` when the build is cached.
func cachedKubernetesTool(ctx context.Context) (GoTool, error) {
	root, err := CacheDir()
	if err != nil {
		return GoTool{}, err
	}
	probe := GoTool{Name: "kubernetes", Version: KubernetesVersion, Binaries: map[string]string{
		"kube-apiserver": "", "kube-scheduler": "", "kube-controller-manager": "", "kubelet": "", "kube-proxy": "",
	}}
	if complete(filepath.Join(root, "bin", probe.Name+"-"+probe.Version), probe) {
		return probe, nil
	}
	return KubernetesTool(ctx, KubernetesVersion)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// Kubectl returns the path of kubectl at KubernetesVersion, built (once, then
// cached) from the same k8s.io/kubernetes module as the control plane, in a
// builder of its own so the control plane's cached build stays complete: the
// operator's kubectl matches the cluster's version, whatever kubectl the
// machine has.
func Kubectl(ctx context.Context) (string, error) {
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	t := GoTool{Name: "kubectl", Version: KubernetesVersion, Binaries: map[string]string{"kubectl": "k8s.io/kubernetes/cmd/kubectl"}}
	if dir := filepath.Join(root, "bin", t.Name+"-"+t.Version); complete(dir, t) {
		return filepath.Join(dir, "kubectl"), nil
	}
	kt, err := KubernetesTool(ctx, KubernetesVersion)
	if err != nil {
		return "", err
	}
	t.Require, t.Replace, t.LDFlags, t.RequireAs = kt.Require, kt.Replace, kt.LDFlags, kt.RequireAs
	dir, err := BuildGoTool(ctx, t)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kubectl"), nil
}
