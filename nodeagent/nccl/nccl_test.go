package nccl

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// entry is one GID slot of a fixture: "" = absent, "zero" = all-zero GID,
// else "<ip> v1|v2|?" (? = unreadable type, as EINVAL in a container).
type entry string

func v1(ip string) entry { return entry(ip + " v1") }
func v2(ip string) entry { return entry(ip + " v2") }

// roce is what the kernel adds per IPv4 address: a v1 and a v2 GID.
func roce(ip string) []entry { return []entry{v1(ip), v2(ip)} }

// linkLocal is the port's own fe80:: pair at 0 and 1.
var linkLocal = roce("fe80::ba3f:d2ff:fe9f:940")

// writePort writes a port's GID table under root/sys/class/infiniband.
func writePort(t *testing.T, root, hca string, entries []entry) {
	t.Helper()
	dir := filepath.Join(root, "sys/class/infiniband", hca, "ports/1")
	for _, sub := range []string{"gids", "gid_attrs/types", "gid_attrs/ndevs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, v string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range entries {
		idx := strconv.Itoa(i)
		switch {
		case e == "":
			continue
		case e == "zero":
			write("gids/"+idx, "0000:0000:0000:0000:0000:0000:0000:0000")
			continue
		}
		ipStr, typ, _ := strings.Cut(string(e), " ")
		a := netip.MustParseAddr(ipStr)
		if a.Is4() {
			a = netip.AddrFrom16(a.As16())
		}
		b := a.As16()
		var g []string
		for j := 0; j < 16; j += 2 {
			g = append(g, fmt.Sprintf("%02x%02x", b[j], b[j+1]))
		}
		write("gids/"+idx, strings.Join(g, ":"))
		write("gid_attrs/ndevs/"+idx, "enp"+hca)
		switch typ {
		case "v1":
			write("gid_attrs/types/"+idx, TypeRoCEv1)
		case "v2":
			write("gid_attrs/types/"+idx, TypeRoCEv2)
		case "?":
			// Reading a directory fails as EINVAL does in a container.
			if err := os.MkdirAll(filepath.Join(dir, "gid_attrs/types", idx), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func table(parts ...[]entry) []entry {
	var out []entry
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestGIDScenarios(t *testing.T) {
	host := func(r int) string { return fmt.Sprintf("172.16.1%d.254", r) }
	pod := func(r int, n int) string { return fmt.Sprintf("172.16.1%d.%d", r, n) }
	full := make([]entry, 0, 256)
	full = append(full, table(linkLocal, roce(host(1)))...)
	for i := 0; len(full) < 254; i++ {
		full = append(full, roce(fmt.Sprintf("10.9.%d.%d", i/200, i%200+1))...)
	}
	full = append(full, roce(pod(1, 5))...)

	for _, tt := range []struct {
		name string
		// rails: per rail (HCA mlx5_<i>) its table; own is the pod's IP per rail.
		rails   [][]entry
		own     []string
		warning string
		// defaultRight: NCCL's own pick is already the pod's GID (types of
		// other namespaces' GIDs unreadable make NCCL skip them).
		defaultRight bool
	}{
		{name: "the host's own address comes first", rails: [][]entry{
			table(linkLocal, roce(host(1)), roce(pod(1, 5))),
			table(linkLocal, roce(host(2)), roce(pod(2, 5))),
		}, own: []string{pod(1, 5), pod(2, 5)}},
		{name: "another pod before this one, the same on every rail", rails: [][]entry{
			table(linkLocal, roce(host(1)), roce(pod(1, 4)), roce(pod(1, 5))),
			table(linkLocal, roce(host(2)), roce(pod(2, 4)), roce(pod(2, 5))),
		}, own: []string{pod(1, 5), pod(2, 5)}},
		{name: "holes and zero GIDs", rails: [][]entry{
			table(linkLocal, roce(host(1)), []entry{"zero", "zero"}, roce(pod(1, 5))),
			table(linkLocal, roce(host(2)), []entry{"", ""}, roce(pod(2, 5))),
		}, own: []string{pod(1, 5), pod(2, 5)}},
		{name: "other namespaces' types unreadable, as in a container", rails: [][]entry{
			table(linkLocal, []entry{entry(host(1) + " ?"), entry(host(1) + " ?")}, roce(pod(1, 5))),
			table(linkLocal, []entry{entry(host(2) + " ?"), entry(host(2) + " ?")}, roce(pod(2, 5))),
		}, own: []string{pod(1, 5), pod(2, 5)}, defaultRight: true},
		{name: "a full 256-entry table", rails: [][]entry{full}, own: []string{pod(1, 5)}},
		{name: "interleaved pods: unequal indices", rails: [][]entry{
			table(linkLocal, roce(host(1)), roce(pod(1, 5)), roce(pod(1, 4))),
			table(linkLocal, roce(host(2)), roce(pod(2, 4)), roce(pod(2, 5))),
		}, own: []string{pod(1, 5), pod(2, 5)},
			warning: "net1 (mlx5_0 port 1, 172.16.11.5): GID index 5; net2 (mlx5_1 port 1, 172.16.12.5): GID index 7"},
		{name: "a rail whose GID the kernel has not added", rails: [][]entry{
			table(linkLocal, roce(host(1)), roce(pod(1, 5))),
			table(linkLocal, roce(host(2))),
		}, own: []string{pod(1, 5), pod(2, 5)},
			warning: "the kernel had not added the pod's RoCE v2 GID on net2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			var rails []Rail
			tables := map[string]Table{}
			for i, entries := range tt.rails {
				hca := fmt.Sprintf("mlx5_%d", i)
				writePort(t, root, hca, entries)
				tab, err := ReadPort(root, hca, 1)
				if err != nil {
					t.Fatal(err)
				}
				tables[hca] = tab
				idx, ok := Own(tab, netip.MustParseAddr(tt.own[i]))
				if !ok {
					idx = -1
				}
				rails = append(rails, Rail{Interface: fmt.Sprintf("net%d", i+1), HCA: hca, Port: 1, IP: tt.own[i], GIDIndex: idx})
			}
			conf := Plan(rails, "eth0")
			if tt.warning != "" {
				if !strings.Contains(conf.Warning, tt.warning) {
					t.Fatalf("warning = %q, want it to contain %q", conf.Warning, tt.warning)
				}
				if strings.Contains(string(conf.Render()), "NCCL_IB_GID_INDEX=") {
					t.Errorf("a GID index was written though the rails disagree:\n%s", conf.Render())
				}
				return
			}
			if conf.Warning != "" {
				t.Fatalf("unexpected warning: %s", conf.Warning)
			}
			// The oracle: with railnet's conf file, NCCL picks the pod's own
			// GID on every rail; without it, NCCL picks another on some.
			env := EnvOf(conf.Vars)
			wrongWithout := false
			for _, r := range rails {
				if got := Pick(tables[r.HCA], env); got != r.GIDIndex {
					t.Errorf("%s: NCCL with railnet's conf picks GID %d (%v), the pod's own is %d", r.Interface, got, tables[r.HCA][got].Addr, r.GIDIndex)
				}
				wrongWithout = wrongWithout || Pick(tables[r.HCA], DefaultEnv) != r.GIDIndex
			}
			if wrongWithout == tt.defaultRight {
				t.Errorf("NCCL's default pick is the pod's own GID on every rail: %v, want %v", !wrongWithout, tt.defaultRight)
			}
		})
	}
}

func TestPickFollowsNCCL(t *testing.T) {
	root := t.TempDir()
	// v1 of an IPv4 address, then v2: NCCL first moves to the IPv4 family
	// (v1), then to v2; an IPv6 global GID is skipped for AF_INET.
	writePort(t, root, "mlx5_0", table(linkLocal, roce("2001:db8::5"), roce("172.16.11.254"), roce("172.16.11.5")))
	tab, err := ReadPort(root, "mlx5_0", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  Env
		want int
	}{
		{name: "defaults: lowest IPv4 RoCE v2", env: DefaultEnv, want: 5},
		{name: "an index set wins", env: Env{GIDIndex: 7, Family: 4, RoCEVersion: 2}, want: 7},
		{name: "IPv6: lowest IPv6 RoCE v2 (link-local counts)", env: Env{GIDIndex: -1, Family: 6, RoCEVersion: 2}, want: 1},
		{name: "an address range", env: Env{GIDIndex: -1, Family: 4, RoCEVersion: 2, Range: netip.MustParsePrefix("172.16.11.5/32")}, want: 7},
		{name: "RoCE v1", env: Env{GIDIndex: -1, Family: 4, RoCEVersion: 1}, want: 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Pick(tab, tt.env); got != tt.want {
				t.Errorf("Pick = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPlanRender(t *testing.T) {
	conf := Plan([]Rail{
		{Interface: "net10", HCA: "mlx5_9", Port: 1, IP: "172.16.20.5", GIDIndex: 5},
		{Interface: "net2", HCA: "mlx5_1", Port: 1, IP: "172.16.12.5", GIDIndex: 5},
	}, "eth0")
	want := "NCCL_IB_HCA==mlx5_1:1,mlx5_9:1\nNCCL_SOCKET_IFNAME==eth0\nNCCL_IB_GID_INDEX=5\n"
	if got := string(conf.Render()); !strings.HasSuffix(got, want) || !strings.Contains(got, "# rail net2: hca mlx5_1 port 1 ip 172.16.12.5 GID index 5\n# rail net10") {
		t.Errorf("conf file:\n%s\nwant it to end with\n%s", got, want)
	}
}

func TestWaitOwn(t *testing.T) {
	ip := netip.MustParseAddr("172.16.11.5")
	reads := 0
	read := func() (Table, error) {
		reads++
		if reads < 3 {
			return Table{{Addr: netip.IPv6Unspecified()}}, nil
		}
		return Table{{}, {Addr: netip.AddrFrom16(ip.As16()), Type: TypeRoCEv2}}, nil
	}
	if i, err := WaitOwn(context.Background(), read, ip, 10*time.Second, time.Millisecond); i != 1 || err != nil {
		t.Fatalf("WaitOwn = %d, %v; want 1 after the kernel added it", i, err)
	}
	never := func() (Table, error) { return nil, os.ErrNotExist }
	if i, err := WaitOwn(context.Background(), never, ip, 20*time.Millisecond, time.Millisecond); i != -1 || err == nil {
		t.Fatalf("WaitOwn on a missing table = %d, %v; want -1 and the error", i, err)
	}
}
