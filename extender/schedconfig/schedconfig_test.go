package schedconfig

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/railnet/railnet/api/golden"
)

func TestSnippet(t *testing.T) {
	got, err := Snippet(Options{
		URLPrefix:   "https://railnet-extender.railnet-system.svc:8443",
		Resources:   []string{"spidernet.io/shared_cx5_gpu2", "spidernet.io/shared_cx5_gpu1", "spidernet.io/shared_cx5_gpu2"},
		HTTPTimeout: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "snippet.golden.yaml"), got)
	for _, must := range []string{"percentageOfNodesToScore: 100", "nodeCacheCapable: true", "ignorable: false", "ignoredByScheduler: false", "enableHTTPS: true", "httpTimeout: 3s"} {
		if !strings.Contains(string(got), must) {
			t.Errorf("snippet lacks %q", must)
		}
	}
}

func TestSnippetNeedsResources(t *testing.T) {
	_, err := Snippet(Options{URLPrefix: "http://x"})
	if err == nil || !strings.Contains(err.Error(), "no RDMA resource names") {
		t.Fatalf("err %v", err)
	}
}

func TestExtenderDefaults(t *testing.T) {
	e := Extender(Options{URLPrefix: "http://127.0.0.1:1", Resources: []string{"r"}})
	if e.Weight != 2 || e.HTTPTimeout.Duration != 5*time.Second || e.EnableHTTPS || !e.NodeCacheCapable || e.Ignorable {
		t.Fatalf("%+v", e)
	}
}
