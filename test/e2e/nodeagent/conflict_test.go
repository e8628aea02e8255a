package nodeagent

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/nodeagent/inventory"
	"github.com/railnet/railnet/test/ground"
)

// interleaving is the real API client, except that before the syncer's
// first status update another writer changes the RDMANode, so that update
// meets a real conflict from the API server.
type interleaving struct {
	client.Client
	t    *testing.T
	done bool
}

func (c *interleaving) Status() client.SubResourceWriter {
	return &interleavingStatus{SubResourceWriter: c.Client.Status(), c: c}
}

type interleavingStatus struct {
	client.SubResourceWriter
	c *interleaving
}

func (s *interleavingStatus) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if !s.c.done {
		s.c.done = true
		other := &railnetv1.RDMANode{}
		if err := s.c.Client.Get(ctx, types.NamespacedName{Name: obj.GetName()}, other); err != nil {
			s.c.t.Fatal(err)
		}
		other.Status.NetnsMode = railnetv1.NetnsModeExclusive
		if err := s.c.Client.Status().Update(ctx, other); err != nil {
			s.c.t.Fatal(err)
		}
	}
	return s.SubResourceWriter.Update(ctx, obj, opts...)
}

func TestInventoryConflict(t *testing.T) {
	const node = "gpu-node-3"
	cluster.CreateNode(t, ground.NodeSpec{Name: node})
	// An RDMANode left by an earlier agent exists already.
	if err := cluster.Client.Create(context.Background(), &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: node}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.Delete(context.Background(), &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: node}})
	})
	c := &interleaving{Client: cluster.Client, t: t}
	s := &inventory.Syncer{Client: c, NodeName: node}
	r := int32(0)
	snap := inventory.Snapshot{NetnsMode: "shared", NICs: []railnetv1.NIC{{Netdev: "enp11s0f0np0", LinkState: "up", Rail: &r}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Sync(ctx, snap); err != nil {
		t.Fatalf("sync across a conflict: %v", err)
	}
	if !c.done {
		t.Fatal("the interleaving write did not happen")
	}
	got := &railnetv1.RDMANode{}
	if err := cluster.Client.Get(ctx, types.NamespacedName{Name: node}, got); err != nil {
		t.Fatal(err)
	}
	// An unchanged snapshot before the heartbeat is due writes nothing.
	writes := s.Writes()
	for i := 0; i < 3; i++ {
		if err := s.Sync(ctx, snap); err != nil {
			t.Fatal(err)
		}
	}
	if s.Writes() != writes {
		t.Errorf("%d status writes for an unchanged snapshot", s.Writes()-writes)
	}
	if got.Status.NetnsMode != "shared" || got.Status.RailsUp != 1 || !meta.IsStatusConditionTrue(got.Status.Conditions, railnetv1.ConditionRailsReady) {
		t.Fatalf("status after the conflict: %+v", got.Status)
	}
}
