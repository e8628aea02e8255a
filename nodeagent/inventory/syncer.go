package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Syncer writes one node's RDMANode status and Node labels.
type Syncer struct {
	Client   client.Client
	NodeName string
	// Heartbeat is how often an unchanged status is confirmed (default 30s).
	Heartbeat time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Recorder records rail changes as events on the Node (see
	// RailChanges); nil records none.
	Recorder record.EventRecorder

	last     *railnetv1.RDMANodeStatus
	lastGen  int64
	lastSent time.Time
	writes   int
	labels   map[string]string
}

// Writes counts the status updates made so far.
func (s *Syncer) Writes() int { return s.writes }

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Sync writes the snapshot when it changed or the heartbeat is due.
func (s *Syncer) Sync(ctx context.Context, snap Snapshot) error {
	hb := s.Heartbeat
	if hb <= 0 {
		hb = 30 * time.Second
	}
	now := metav1.NewTime(s.now())
	if s.last != nil {
		next := Status(snap, s.last.Conditions, s.lastGen, now)
		if SameStatus(next, *s.last) && s.now().Sub(s.lastSent) < hb {
			return s.syncLabels(ctx, *s.last)
		}
	}
	st, err := s.writeStatus(ctx, snap, now)
	if err != nil {
		return err
	}
	s.recordRailChanges(st)
	s.last, s.lastSent = st, s.now()
	s.labels = nil // re-read the Node with every status write
	return s.syncLabels(ctx, *st)
}

// recordRailChanges records the rails that changed since the last status
// written (every rail down, on the first) as events on the Node.
func (s *Syncer) recordRailChanges(st *railnetv1.RDMANodeStatus) {
	if s.Recorder == nil {
		return
	}
	var prev []railnetv1.NIC
	if s.last != nil {
		prev = s.last.NICs
	}
	events := RailChanges(prev, st.NICs, s.last == nil)
	if len(events) == 0 {
		return
	}
	// The Node's UID lets kubectl describe node find the events; the
	// kubelet's events use the node's name as UID too.
	ref := &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: s.NodeName, UID: types.UID(s.NodeName)}
	for _, e := range events {
		s.Recorder.Event(ref, e.Type, e.Reason, e.Message)
	}
}

// writeStatus creates the RDMANode if missing and updates its status,
// re-reading and retrying on a conflict.
func (s *Syncer) writeStatus(ctx context.Context, snap Snapshot, now metav1.Time) (*railnetv1.RDMANodeStatus, error) {
	var out railnetv1.RDMANodeStatus
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rn := &railnetv1.RDMANode{}
		err := s.Client.Get(ctx, types.NamespacedName{Name: s.NodeName}, rn)
		if apierrors.IsNotFound(err) {
			rn, err = s.create(ctx)
		}
		if err != nil {
			return err
		}
		rn.Status = Status(snap, rn.Status.Conditions, rn.Generation, now)
		rn.Status.HeartbeatTime = &now
		if err := s.Client.Status().Update(ctx, rn); err != nil {
			return err
		}
		out = rn.Status
		s.lastGen = rn.Generation
		s.writes++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update RDMANode %s status: %w", s.NodeName, err)
	}
	klog.FromContext(ctx).V(2).Info("RDMANode status written", "node", s.NodeName, "railsUp", out.RailsUp, "railsTotal", out.RailsTotal)
	return &out, nil
}

// create makes the RDMANode, owned by the Node so it goes with it.
func (s *Syncer) create(ctx context.Context) (*railnetv1.RDMANode, error) {
	rn := &railnetv1.RDMANode{ObjectMeta: metav1.ObjectMeta{Name: s.NodeName}}
	node := &corev1.Node{}
	if err := s.Client.Get(ctx, types.NamespacedName{Name: s.NodeName}, node); err == nil {
		rn.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
			BlockOwnerDeletion: ptr.To(false),
		}}
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get Node %s: %w", s.NodeName, err)
	}
	err := s.Client.Create(ctx, rn)
	if apierrors.IsAlreadyExists(err) {
		// Another writer created it: read it back.
		err = s.Client.Get(ctx, types.NamespacedName{Name: s.NodeName}, rn)
	}
	if err != nil {
		return nil, fmt.Errorf("create RDMANode %s: %w", s.NodeName, err)
	}
	return rn, nil
}

// syncLabels patches the Node's railnet labels when they differ.
func (s *Syncer) syncLabels(ctx context.Context, st railnetv1.RDMANodeStatus) error {
	want := NodeLabels(st)
	if s.labels != nil && equalMaps(s.labels, want) {
		return nil
	}
	node := &corev1.Node{}
	if err := s.Client.Get(ctx, types.NamespacedName{Name: s.NodeName}, node); err != nil {
		return fmt.Errorf("get Node %s: %w", s.NodeName, err)
	}
	changes := LabelChanges(node.Labels, want)
	if len(changes) > 0 {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": changes}})
		if err != nil {
			return err
		}
		if err := s.Client.Patch(ctx, node, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("label Node %s: %w", s.NodeName, err)
		}
		klog.FromContext(ctx).Info("node rail labels updated", "node", s.NodeName, "changes", len(changes), "railsReady", want[railnetv1.LabelRailsReady])
	}
	s.labels = want
	return nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
