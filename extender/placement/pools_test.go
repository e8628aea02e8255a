package placement

import (
	"slices"
	"strings"
	"testing"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestPoolRoom(t *testing.T) {
	gw := func(s string) func(*spiderv2beta1.SpiderIPPool) {
		return func(p *spiderv2beta1.SpiderIPPool) { p.Spec.Gateway = &s }
	}
	ex := func(e ...string) func(*spiderv2beta1.SpiderIPPool) {
		return func(p *spiderv2beta1.SpiderIPPool) { p.Spec.ExcludeIPs = e }
	}
	tests := []struct {
		name       string
		pool       *spiderv2beta1.SpiderIPPool
		allocated  []string
		total, use int64
		err        string
	}{
		{name: "range minus gateway", pool: pool("p", "172.16.11.1-172.16.11.254"), total: 253},
		{name: "gateway outside range", pool: pool("p", "172.16.11.1-172.16.11.10"), total: 10},
		{name: "excludes, overlapping ranges", pool: pool("p", "172.16.11.1-172.16.11.100", ex("172.16.11.5-172.16.11.9", "172.16.11.7", "172.16.11.100")), total: 94},
		{name: "allocated inside and outside", pool: pool("p", "172.16.11.1-172.16.11.10", ex("172.16.11.3")),
			allocated: []string{"172.16.11.1", "172.16.11.3", "10.0.0.1", "garbage"}, total: 9, use: 1},
		{name: "CIDR entry", pool: pool("p", "172.16.11.0/28", gw("172.16.11.1")), total: 15},
		{name: "IPv6 range", pool: pool("p", "fd00::1-fd00::ff", gw("fd00::1")), total: 254},
		{name: "IPv6 /64 caps", pool: pool("p", "fd00::/64", gw("fd00::1")), total: maxCount},
		{name: "bad range", pool: pool("p", "172.16.11.9-172.16.11.1"), err: `SpiderIPPool p: spec.ips: "172.16.11.9-172.16.11.1" ends before it starts`},
		{name: "bad exclude", pool: pool("p", "172.16.11.1", ex("nope")), err: `SpiderIPPool p: spec.excludeIPs: "nope" is not an IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newPoolRoom(tt.pool, slices.Values(tt.allocated), 0)
			if tt.err != "" {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", r.Err, tt.err)
				}
				if r.Free() != 0 {
					t.Fatalf("invalid pool has room %d", r.Free())
				}
				return
			}
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if r.Total != tt.total || r.Allocated != tt.use {
				t.Fatalf("total %d allocated %d, want %d %d", r.Total, r.Allocated, tt.total, tt.use)
			}
		})
	}
}
