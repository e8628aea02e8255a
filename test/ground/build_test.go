package ground

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestStagingReplaces(t *testing.T) {
	gomod := []byte(`module k8s.io/kubernetes

go 1.25.0

require (
	github.com/spf13/cobra v1.10.0
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0
	k8s.io/sample-apiserver v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	k8s.io/sample-apiserver => ./staging/src/k8s.io/sample-apiserver
	k8s.io/sample-controller => ./staging/src/k8s.io/sample-controller
	github.com/foo/bar => github.com/foo/bar v1.2.3
)
`)
	got, err := stagingReplaces(gomod, "v0.37.2")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"k8s.io/api":              "k8s.io/api v0.37.2",
		"k8s.io/client-go":        "k8s.io/client-go v0.37.2",
		"k8s.io/sample-apiserver": "k8s.io/sample-apiserver v0.37.2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stagingReplaces = %v, want %v (sample-controller is not required, so not replaced)", got, want)
	}

	if _, err := stagingReplaces([]byte("module x\n"), "v0.1.0"); err == nil || !strings.Contains(err.Error(), "no staging replace lines") {
		t.Fatalf("a go.mod without staging replaces: err = %v", err)
	}
}

func TestBuilderGoMod(t *testing.T) {
	got := string(builderGoMod(GoTool{
		Name:     "kubernetes",
		Require:  map[string]string{"k8s.io/kubernetes": "v1.37.2"},
		Replace:  map[string]string{"k8s.io/client-go": "k8s.io/client-go v0.37.2", "k8s.io/api": "k8s.io/api v0.37.2"},
		Binaries: map[string]string{"kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler", "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver"},
	}))
	want := `module railnet.local/builder/kubernetes

go 1.26

require k8s.io/kubernetes v1.37.2

tool k8s.io/kubernetes/cmd/kube-apiserver
tool k8s.io/kubernetes/cmd/kube-scheduler

replace k8s.io/api => k8s.io/api v0.37.2
replace k8s.io/client-go => k8s.io/client-go v0.37.2
`
	if got != want {
		t.Fatalf("builderGoMod:\n%s\nwant:\n%s", got, want)
	}
}

// A cached build is used as is: BuildGoTool must not touch the network or
// the go command when every binary and the completion stamp are there.
func TestBuildGoToolReusesCompleteCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("RAILNET_BIN_CACHE", cache)
	tool := GoTool{Name: "thing", Version: "v1.0.0", Binaries: map[string]string{"thing": "example.invalid/cmd/thing"}}
	dir := filepath.Join(cache, "bin", "thing-v1.0.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"thing", ".complete"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", "") // no go command: a rebuild attempt would fail
	got, err := BuildGoTool(t.Context(), tool)
	if err != nil || got != dir {
		t.Fatalf("BuildGoTool = %q, %v; want the cached %q", got, err, dir)
	}

	// Without the stamp the cache is incomplete and a build is attempted.
	if err := os.Remove(filepath.Join(dir, ".complete")); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildGoTool(t.Context(), tool); err == nil {
		t.Fatal("BuildGoTool used a cache without its completion stamp")
	}
}

func TestRequireAs(t *testing.T) {
	sched := []byte(`module github.com/railnet/railnet/extender/cmd/railnet-scheduler

go 1.26.8

require (
	github.com/railnet/railnet v0.0.0-00010101000000-000000000000
	k8s.io/kubernetes v1.37.2
)

require golang.org/x/net v0.61.0 // indirect

replace github.com/railnet/railnet => ../../..
`)
	tool := map[string]string{"k8s.io/kubernetes": "v1.37.2"}
	got, err := requireAs(tool, sched)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"k8s.io/kubernetes": "v1.37.2", "golang.org/x/net": "v0.61.0"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("same Kubernetes version: require = %v, want %v (railnet itself left out)", got, want)
	}
	if len(tool) != 1 {
		t.Fatalf("requireAs changed its argument: %v", tool)
	}

	tool = map[string]string{"k8s.io/kubernetes": "v1.38.0"}
	if got, err = requireAs(tool, sched); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tool) {
		t.Fatalf("another Kubernetes version: require = %v, want %v (nothing added)", got, tool)
	}

	if _, err := requireAs(tool, []byte("require (\n")); err == nil {
		t.Fatal("an unreadable go.mod: no error")
	}
}
