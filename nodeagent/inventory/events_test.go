package inventory

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
)

func TestRailChanges(t *testing.T) {
	up := []railnetv1.NIC{rail(0, true), rail(1, true), rail(2, true)}
	oneDown := []railnetv1.NIC{rail(0, true), rail(1, false), rail(2, true)}
	portDown := rail(2, true)
	portDown.PortState = "DOWN"
	const down1 = "rail 1 (enp12s0f0np0) is down: link down; the extender keeps pods that need rail 1 off this node until it is up again (check the NIC's cable and its leaf switch port, or drain the node)"
	for _, tc := range []struct {
		name        string
		prev, next  []railnetv1.NIC
		first       bool
		wantReasons []string
		wantFirst   string
	}{
		{"start, all up", nil, up, true, nil, ""},
		{"start, one down", nil, oneDown, true, []string{EventRailDown}, down1},
		{"unchanged", up, up, false, nil, ""},
		{"link goes down", up, oneDown, false, []string{EventRailDown}, down1},
		{"still down: no repeat", oneDown, oneDown, false, nil, ""},
		{"comes back", oneDown, up, false, []string{EventRailUp}, "rail 1 (enp12s0f0np0) is up again"},
		{"RDMA port down", up, []railnetv1.NIC{rail(0, true), rail(1, true), portDown}, false, []string{EventRailDown},
			"rail 2 (enp13s0f0np0) is down: RDMA port mlx5_2/1 DOWN; the extender keeps pods that need rail 2 off this node until it is up again (check the NIC's cable and its leaf switch port, or drain the node)"},
		{"NIC gone", up, up[:2], false, []string{EventRailDown},
			"rail 2 (enp13s0f0np0) is gone from the node: its NIC is no longer found; pods that need rail 2 cannot run here"},
		{"NIC without a rail ignored", up, append(up, railnetv1.NIC{Netdev: "eno1", LinkState: "down"}), false, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RailChanges(tc.prev, tc.next, tc.first)
			var reasons []string
			for _, e := range got {
				reasons = append(reasons, e.Reason)
			}
			if !reflect.DeepEqual(reasons, tc.wantReasons) {
				t.Fatalf("reasons %v, want %v (%+v)", reasons, tc.wantReasons, got)
			}
			if tc.wantFirst != "" && got[0].Message != tc.wantFirst {
				t.Errorf("message\n %s\nwant\n %s", got[0].Message, tc.wantFirst)
			}
		})
	}
}

// The Syncer records a rail that goes down and comes back on the Node,
// once per change, as kubectl describe node shows it.
func TestSyncerRecordsRailChanges(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gpu-node-1", UID: "uid-1"}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(node).
		WithStatusSubresource(&railnetv1.RDMANode{}).Build()
	rec := record.NewFakeRecorder(10)
	s := &Syncer{Client: c, NodeName: "gpu-node-1", Recorder: rec}
	ctx := context.Background()
	for _, nics := range [][]railnetv1.NIC{
		{rail(0, true), rail(1, true)},
		{rail(0, true), rail(1, false)},
		{rail(0, true), rail(1, false)},
		{rail(0, true), rail(1, true)},
	} {
		if err := s.Sync(ctx, Snapshot{NetnsMode: "shared", NICs: nics}); err != nil {
			t.Fatal(err)
		}
	}
	close(rec.Events)
	var got []string
	for e := range rec.Events {
		got = append(got, e)
	}
	want := []string{
		"Warning RailDown rail 1 (enp12s0f0np0) is down: link down; the extender keeps pods that need rail 1 off this node until it is up again (check the NIC's cable and its leaf switch port, or drain the node)",
		"Normal RailUp rail 1 (enp12s0f0np0) is up again",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n%q\nwant\n%q", got, want)
	}
}
