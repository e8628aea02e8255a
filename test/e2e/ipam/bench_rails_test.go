package ipam_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
)

// BenchmarkCNIAddEightRails times, through libcni, the CNI ADD of one pod's
// eight rails as Multus runs them (one network after the other):
// macvlan + railnet-ipam + railnet-coordinator, with its ARP checks and
// without, and macvlan + railnet-ipam alone (what the coordinator costs),
// against the reference macvlan + host-local on the same veth rails. One
// b.N iteration is one pod per variant (ADD timed, DEL not).
//
//	make bench-ipam
func BenchmarkCNIAddEightRails(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c := newChain(ctx, b, "bench-rails-node")
	for i := 1; i <= 8; i++ {
		createPool(ctx, b, fmt.Sprintf("bench-rail%d", i), fmt.Sprintf("172.16.1%d.0/24", i),
			[]string{fmt.Sprintf("172.16.1%d.1-172.16.1%d.200", i, i)}, fmt.Sprintf("172.16.1%d.254", i))
	}
	dataDir := b.TempDir()
	variants := []struct {
		name string
		conf func(rail int) string
	}{
		{"railnet", func(i int) string { return c.railnetConf(i, fmt.Sprintf("bench-rail%d", i), "") }},
		{"railnet-nochecks", func(i int) string {
			return c.railnetConf(i, fmt.Sprintf("bench-rail%d", i), `,"detectGateway":false,"detectIPConflict":false`)
		}},
		{"macvlan+railnet-ipam", func(i int) string { // railnet's IPAM without the coordinator: splits railnet's cost
			return fmt.Sprintf(`{"cniVersion":"1.0.0","name":"gpu%d-macvlan","plugins":[
			  {"type":"macvlan","master":"rail%d","mode":"bridge","mtu":4200,
			   "ipam":{"type":"railnet-ipam","ippools":{"ipv4":["bench-rail%d"]},"socket":%q}}]}`, i, i, i, c.sock)
		}},
		{"macvlan+host-local", func(i int) string {
			return fmt.Sprintf(`{"cniVersion":"1.0.0","name":"gpu%d-macvlan","plugins":[
			  {"type":"macvlan","master":"rail%d","mode":"bridge","mtu":4200,
			   "ipam":{"type":"host-local","dataDir":%q,"ranges":[[{"subnet":"172.16.1%d.0/24","rangeStart":"172.16.1%d.1","rangeEnd":"172.16.1%d.200","gateway":"172.16.1%d.254"}]]}}]}`,
				i, i, dataDir, i, i, i, i)
		}},
	}
	took := make([]time.Duration, len(variants))
	seq := 0
	for b.Loop() {
		for v, variant := range variants {
			seq++
			uid := fmt.Sprintf("bench-%d-%d", v, seq)
			start := time.Now()
			for i := 1; i <= 8; i++ {
				conf, err := libcni.ConfListFromBytes([]byte(variant.conf(i)))
				if err != nil {
					b.Fatal(err)
				}
				if err := c.inNode(func() error {
					_, err := c.cni.AddNetworkList(ctx, conf, c.rt(fmt.Sprintf("net%d", i), uid))
					return err
				}); err != nil {
					b.Fatalf("%s ADD net%d: %v", variant.name, i, err)
				}
			}
			took[v] += time.Since(start)
			for i := 1; i <= 8; i++ {
				conf, _ := libcni.ConfListFromBytes([]byte(variant.conf(i)))
				if err := c.inNode(func() error { return c.cni.DelNetworkList(ctx, conf, c.rt(fmt.Sprintf("net%d", i), uid)) }); err != nil {
					b.Fatalf("%s DEL net%d: %v", variant.name, i, err)
				}
			}
		}
	}
	per := func(d time.Duration) time.Duration { return d / time.Duration(b.N) }
	for v, variant := range variants {
		b.ReportMetric(float64(per(took[v]).Microseconds())/1000, variant.name+"-ms/pod")
	}
	base := took[len(variants)-1].Seconds()
	b.ReportMetric(took[0].Seconds()/base, "ratio-railnet/reference")
	b.ReportMetric(took[1].Seconds()/base, "ratio-railnet-nochecks/reference")
	b.ReportMetric(took[2].Seconds()/base, "ratio-railnet-ipam-only/reference")
	b.Logf("CNI ADD of 8 rails per pod: railnet %s (ARP checks on), railnet %s (checks off), macvlan+railnet-ipam %s (no coordinator), "+
		"macvlan+host-local %s; ratios to the reference %.2f, %.2f and %.2f; the coordinator (checks off) adds %s, railnet-ipam over host-local %s",
		per(took[0]), per(took[1]), per(took[2]), per(took[3]),
		took[0].Seconds()/base, took[1].Seconds()/base, took[2].Seconds()/base,
		per(took[1]-took[2]), per(took[2]-took[3]))
}
