package rails

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func TestWithDefaultPools(t *testing.T) {
	yes, no := true, false
	six := int64(6)
	pool := func(name, subnet string, def *bool, ver *int64) *spiderv2beta1.SpiderIPPool {
		return &spiderv2beta1.SpiderIPPool{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: spiderv2beta1.IPPoolSpec{Subnet: subnet, Default: def, IPVersion: ver}}
	}
	pools := []*spiderv2beta1.SpiderIPPool{
		pool("d4-b", "10.1.0.0/16", &yes, nil),
		pool("d4-a", "10.2.0.0/16", &yes, nil),
		pool("d6", "fd00::/64", &yes, &six),
		pool("not-default", "10.3.0.0/16", &no, nil),
		pool("unset", "10.4.0.0/16", nil, nil),
		pool("bad-subnet", "nope", &yes, nil),
	}
	in := []Rail{
		{Network: "a/named", PoolsV4: []string{"mine"}},
		{Network: "a/v6only", PoolsV6: []string{"mine6"}},
		{Network: "a/none"},
	}
	got := WithDefaultPools(in, pools)
	want := []Rail{
		{Network: "a/named", PoolsV4: []string{"mine"}},
		{Network: "a/v6only", PoolsV6: []string{"mine6"}},
		{Network: "a/none", PoolsV4: []string{"d4-a", "d4-b"}, PoolsV6: []string{"d6"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if in[2].PoolsV4 != nil {
		t.Fatal("input changed")
	}
}
