package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/railnet/railnet/nodeagent/coordinator/coordinatortest"
	"github.com/railnet/railnet/test/ground"
)

// BenchmarkExec runs the CNI binaries as a runtime does, one process per
// call, and reports the CPU time (user and system, from the kernel's account
// of the waited-for process) one process costs: railnet-ipam's and
// railnet-coordinator's VERSION (start-up and package initialisation alone)
// and the coordinator's ADD and DEL of one interface with checks off (as
// `make bench-ipam`'s railnet-nochecks chain runs it), beside an empty static
// Go binary and a plugin on libcni's skel that does nothing (references) run
// in the same loop, so the ratios hold on a loaded machine. The binaries are
// built as the images build them. With RAILNET_BENCH_BASELINE_PLUGINS set to
// a folder holding another build's railnet-ipam and railnet-coordinator,
// those run in the same loop too. Needs root (the ADD runs in a network
// namespace).
//
//	go test -run '^$' -bench Exec -benchtime 300x ./nodeagent/cmd/railnet-coordinator
func BenchmarkExec(b *testing.B) {
	built := b.TempDir()
	for name, src := range references {
		file := filepath.Join(built, name+".go")
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := ground.Build(b.Context(), filepath.Join(built, name), file); err != nil {
			b.Fatal(err)
		}
	}
	if err := ground.BuildCommands(b.Context(), built, "./nodeagent/cmd/railnet-ipam", "./nodeagent/cmd/railnet-coordinator"); err != nil {
		b.Fatal(err)
	}
	n := coordinatortest.NewNode(b, 1)
	n.Macvlan(b, 1, "net1", netip.MustParsePrefix("172.16.11.10/24"))
	add := conf(b, `,"mtu":4200,"detectGateway":false,"detectIPConflict":false`, "net1", "172.16.11.10/24", "172.16.11.254")

	// Every binary runs from a copy made the same way: how a file came
	// into the page cache (written by the linker, copied) changes what
	// mapping it at exec costs by up to 0.5 ms.
	dir := b.TempDir()
	type build struct{ name, dir string }
	builds := []build{{"", built}}
	if base := os.Getenv("RAILNET_BENCH_BASELINE_PLUGINS"); base != "" {
		builds = append(builds, build{"baseline:", base})
	}
	for i, bd := range builds {
		builds[i].dir = filepath.Join(dir, fmt.Sprint(i))
		if err := os.CopyFS(builds[i].dir, os.DirFS(bd.dir)); err != nil {
			b.Fatal(err)
		}
	}
	unix.Sync() // no process starts from a file under writeback
	type call struct {
		name string
		run  func() (time.Duration, error)
	}
	calls := []call{
		{"empty", func() (time.Duration, error) { return run(filepath.Join(builds[0].dir, "empty"), nil, nil) }},
		{"skel-only ADD", func() (time.Duration, error) {
			return run(filepath.Join(builds[0].dir, "skelonly"), cniEnv("ADD", n), add)
		}},
	}
	for _, bd := range builds {
		ipam, coord := filepath.Join(bd.dir, "railnet-ipam"), filepath.Join(bd.dir, "railnet-coordinator")
		calls = append(calls,
			call{bd.name + "railnet-ipam VERSION", func() (time.Duration, error) { return run(ipam, []string{"CNI_COMMAND=VERSION"}, nil) }},
			call{bd.name + "railnet-coordinator VERSION", func() (time.Duration, error) { return run(coord, []string{"CNI_COMMAND=VERSION"}, nil) }},
			call{bd.name + "railnet-coordinator ADD", func() (time.Duration, error) { return run(coord, cniEnv("ADD", n), add) }},
			call{bd.name + "railnet-coordinator DEL", func() (time.Duration, error) { return run(coord, cniEnv("DEL", n), add) }})
	}
	for _, c := range calls { // warm up: page cache, the kernel's caches of the namespace
		if _, err := c.run(); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
	}
	cpu := make([][]time.Duration, len(calls))
	for round := 0; b.Loop(); round++ {
		for i := range calls {
			if round%2 == 1 { // every other round backwards: no call always follows the same one
				i = len(calls) - 1 - i
			}
			d, err := calls[i].run()
			if err != nil {
				b.Fatalf("%s: %v", calls[i].name, err)
			}
			cpu[i] = append(cpu[i], d)
		}
	}
	empty, _ := stats(cpu[0])
	skelOnly, _ := stats(cpu[1])
	for i, c := range calls {
		mean, median := stats(cpu[i])
		b.ReportMetric(ms(mean), strings.ReplaceAll(c.name, " ", "-")+"-cpu-ms/exec")
		b.Logf("%-40s CPU per process: mean %.3f ms (%.2f× the empty Go binary's, %.2f× the skel-only plugin's), median %.3f ms",
			c.name, ms(mean), float64(mean)/float64(empty), float64(mean)/float64(skelOnly), ms(median))
	}
}

// references are the floors the plugins are measured against: an empty
// static Go binary, and a CNI plugin on libcni's skel whose commands do
// nothing (what any Go plugin built on the CNI library costs).
var references = map[string]string{
	"empty": "package main\n\nfunc main() {}\n",
	"skelonly": `package main

import (
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"
)

func main() {
	nop := func(*skel.CmdArgs) error { return nil }
	skel.PluginMainFuncs(skel.CNIFuncs{Add: nop, Del: nop, Check: nop}, version.All, "skel only")
}
`,
}

// stats is the mean and the median of ds.
func stats(ds []time.Duration) (mean, median time.Duration) {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	s := slices.Sorted(slices.Values(ds))
	return sum / time.Duration(len(ds)), s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// run executes a plugin binary with the CNI environment env and stdin and
// returns the CPU time the process used; it fails with the process's output
// when the process fails.
func run(bin string, env []string, stdin []byte) (time.Duration, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(env, "CNI_PATH="+filepath.Dir(bin))
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w: %s", bin, err, out.Bytes())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

func cniEnv(command string, n *coordinatortest.Node) []string {
	return []string{"CNI_COMMAND=" + command, "CNI_CONTAINERID=sandbox-1", "CNI_NETNS=" + n.Pod.Path(), "CNI_IFNAME=net1"}
}
