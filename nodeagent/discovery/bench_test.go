package discovery

import (
	"fmt"
	"github.com/railnet/railnet/nodeagent/discovery/discoverytest"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// readWholeTree is the baseline: read every regular file of the fixture once,
// the raw sysfs I/O a discovery could not go below by much.
func readWholeTree(b *testing.B, root string) {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(p)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDiscoverRail8 measures a full discovery of the 8-rail fixture with
// real veth netdevs (sub-benchmark "discover") and the baseline of reading
// the whole fixture tree once ("baseline"), then prints the ratio.
func BenchmarkDiscoverRail8(b *testing.B) {
	nn := newNodeNetns(b, discoverytest.SeedNetdevs()...)
	root := fixture("rail8")
	opts := Options{SysfsRoot: root, Links: nn.links, NetnsMode: shared}
	var baseNs, discNs float64
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			readWholeTree(b, root)
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("discover", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Discover(opts); err != nil {
				b.Fatal(err)
			}
		}
		discNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if baseNs > 0 && discNs > 0 {
		fmt.Printf("discovery of 8 rails: %.2f ms/op, %.2fx the baseline (%.2f ms/op)\n",
			discNs/1e6, discNs/baseNs, baseNs/1e6)
	}
}
