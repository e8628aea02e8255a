package inventory

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

func rail(i int32, up bool) railnetv1.NIC {
	n := railnetv1.NIC{Netdev: fmt.Sprintf("enp%ds0f0np0", 11+i), RDMADevice: fmt.Sprintf("mlx5_%d", i), Port: 1,
		PortState: "ACTIVE", LinkState: "up", Rail: &i}
	if !up {
		n.LinkState = "down"
	}
	return n
}

func TestStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	portDown := rail(2, true)
	portDown.PortState = "DOWN"
	noRail := railnetv1.NIC{Netdev: "eno1", RDMADevice: "mlx5_bond_0", LinkState: "down"}
	tests := []struct {
		name                     string
		snap                     Snapshot
		wantUp, wantTotal        int32
		wantShared, wantReady    metav1.ConditionStatus
		wantReadyMsg, wantShrMsg string
	}{
		{name: "all up", snap: Snapshot{NetnsMode: "shared", NICs: []railnetv1.NIC{rail(0, true), rail(1, true), noRail}},
			wantUp: 2, wantTotal: 2, wantShared: "True", wantReady: "True", wantReadyMsg: "all 2 rails are up"},
		{name: "link and port down", snap: Snapshot{NetnsMode: "shared", NICs: []railnetv1.NIC{rail(0, true), rail(1, false), portDown}},
			wantUp: 1, wantTotal: 3, wantShared: "True", wantReady: "False",
			wantReadyMsg: "1 of 3 rails are up; down: rail 1 (enp12s0f0np0): link down; rail 2 (enp13s0f0np0): RDMA port mlx5_2/1 DOWN"},
		{name: "exclusive", snap: Snapshot{NetnsMode: "exclusive", NICs: []railnetv1.NIC{rail(0, true)}},
			wantUp: 1, wantTotal: 1, wantShared: "False", wantReady: "True", wantReadyMsg: "all 1 rails are up",
			wantShrMsg: "the RDMA subsystem is in exclusive netns mode: macvlan pods cannot use the host's RDMA devices; run `rdma system set netns shared` on the node"},
		{name: "no RDMA", snap: Snapshot{NetnsMode: "unsupported"}, wantShared: "False", wantReady: "False",
			wantReadyMsg: "no RDMA NIC on this node is assigned to a rail",
			wantShrMsg:   "the kernel has no RDMA netlink support: this node has no RDMA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Status(tc.snap, nil, 3, t0)
			if st.RailsUp != tc.wantUp || st.RailsTotal != tc.wantTotal {
				t.Errorf("rails %d/%d, want %d/%d", st.RailsUp, st.RailsTotal, tc.wantUp, tc.wantTotal)
			}
			sh := meta.FindStatusCondition(st.Conditions, railnetv1.ConditionRDMASharedMode)
			rd := meta.FindStatusCondition(st.Conditions, railnetv1.ConditionRailsReady)
			if sh.Status != tc.wantShared || rd.Status != tc.wantReady || rd.ObservedGeneration != 3 {
				t.Errorf("conditions %+v", st.Conditions)
			}
			if rd.Message != tc.wantReadyMsg {
				t.Errorf("RailsReady message %q, want %q", rd.Message, tc.wantReadyMsg)
			}
			if tc.wantShrMsg != "" && sh.Message != tc.wantShrMsg {
				t.Errorf("RDMASharedMode message %q, want %q", sh.Message, tc.wantShrMsg)
			}
		})
	}
}

func TestStatusKeepsTransitionTime(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	snap := Snapshot{NetnsMode: "shared", NICs: []railnetv1.NIC{rail(0, true)}, Resources: map[string][]string{"enp11s0f0np0": {"b/x", "a/y"}}}
	first := Status(snap, nil, 1, t0)
	second := Status(snap, first.Conditions, 1, t1)
	if !SameStatus(first, second) {
		t.Fatal("unchanged snapshot gave a different status")
	}
	if c := meta.FindStatusCondition(second.Conditions, railnetv1.ConditionRailsReady); !c.LastTransitionTime.Equal(&t0) {
		t.Errorf("transition time moved to %v", c.LastTransitionTime)
	}
	if got := second.NICs[0].Resources; !reflect.DeepEqual(got, []string{"a/y", "b/x"}) {
		t.Errorf("resources %v", got)
	}
	snap.NICs[0].LinkState = "down"
	third := Status(snap, second.Conditions, 1, t1)
	if SameStatus(second, third) {
		t.Fatal("a rail going down did not change the status")
	}
	if c := meta.FindStatusCondition(third.Conditions, railnetv1.ConditionRailsReady); !c.LastTransitionTime.Equal(&t1) {
		t.Errorf("transition time %v, want %v", c.LastTransitionTime, t1)
	}
}

func TestNodeLabels(t *testing.T) {
	st := Status(Snapshot{NetnsMode: "shared", NICs: []railnetv1.NIC{rail(0, true), rail(3, false), {Netdev: "eno1"}}}, nil, 1, metav1.Now())
	want := map[string]string{"railnet.io/rails-ready": "1", "railnet.io/rail.0": "up", "railnet.io/rail.3": "down"}
	if got := NodeLabels(st); !reflect.DeepEqual(got, want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
}

func TestLabelChanges(t *testing.T) {
	s := func(v string) *string { return &v }
	current := map[string]string{"kubernetes.io/hostname": "n1", "railnet.io/rails-ready": "2",
		"railnet.io/rail.0": "up", "railnet.io/rail.1": "up", "railnet.io/rail.7": "up", "railnet.io/pool": "keep"}
	want := map[string]string{"railnet.io/rails-ready": "1", "railnet.io/rail.0": "up", "railnet.io/rail.1": "down"}
	got := LabelChanges(current, want)
	expect := map[string]*string{"railnet.io/rails-ready": s("1"), "railnet.io/rail.1": s("down"), "railnet.io/rail.7": nil}
	if !reflect.DeepEqual(got, expect) {
		t.Fatalf("changes %v, want %v", got, expect)
	}
	if len(LabelChanges(want, want)) != 0 {
		t.Fatal("no change expected")
	}
}

func TestConfigValidCondition(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const dp = "device plugin config /etc/railnet/device-plugin/config.json"
	refusal := errors.New("configList[0]: rdmaHcaMax 4611686018427387904: at most 10000 shares per resource")
	tests := []struct {
		name                string
		configs             []ConfigInput
		wantStatus          metav1.ConditionStatus
		wantReason, wantMsg string
	}{
		{name: "device plugin off", wantStatus: "True", wantReason: ReasonNoConfig,
			wantMsg: "the agent runs without a hot-reloaded config (device plugin off)"},
		{name: "served", configs: []ConfigInput{{Name: dp}}, wantStatus: "True", wantReason: ReasonConfigServed,
			wantMsg: dp + ": in force as written"},
		{name: "refused", configs: []ConfigInput{{Name: dp, Err: refusal}}, wantStatus: "False", wantReason: ReasonConfigRefused,
			wantMsg: dp + " refused: configList[0]: rdmaHcaMax 4611686018427387904: at most 10000 shares per resource; " +
				"the last good config stays in force: fix the input (its ConfigMap) and the agent applies it without a restart"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Status(Snapshot{NetnsMode: "shared", Configs: tc.configs}, nil, 2, t0)
			c := meta.FindStatusCondition(st.Conditions, railnetv1.ConditionConfigValid)
			if c == nil {
				t.Fatalf("no %s condition in %+v", railnetv1.ConditionConfigValid, st.Conditions)
			}
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.Message != tc.wantMsg || c.ObservedGeneration != 2 {
				t.Errorf("condition %+v\nwant status %s reason %s message %q", c, tc.wantStatus, tc.wantReason, tc.wantMsg)
			}
		})
	}

	// A refusal is a change the syncer writes; its repair another.
	good := Status(Snapshot{NetnsMode: "shared", Configs: []ConfigInput{{Name: dp}}}, nil, 1, t0)
	bad := Status(Snapshot{NetnsMode: "shared", Configs: []ConfigInput{{Name: dp, Err: refusal}}}, good.Conditions, 1, t0)
	if SameStatus(good, bad) {
		t.Fatal("a refused config did not change the status")
	}
}
