package inventory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Condition reasons.
const (
	ReasonShared        = "SharedMode"
	ReasonExclusive     = "ExclusiveMode"
	ReasonUnsupported   = "NoRDMA"
	ReasonAllRailsUp    = "AllRailsUp"
	ReasonRailsDown     = "RailsDown"
	ReasonNoRails       = "NoRails"
	ReasonDiscoveryFail = "DiscoveryFailed"
	ReasonConfigServed  = "ConfigServed"
	ReasonConfigRefused = "ConfigRefused"
	ReasonNoConfig      = "NoConfig"
)

// ConfigInput is one input the agent re-reads while it runs (the device
// plugin's config.json): Err is its last refusal, nil when what is on disk
// is in force.
type ConfigInput struct {
	// Name says what the input is and where, e.g. "device plugin config
	// /etc/railnet/device-plugin/config.json".
	Name string
	Err  error
}

// Snapshot is what the agent knows about the node at one moment.
type Snapshot struct {
	NetnsMode string
	NICs      []railnetv1.NIC
	GPUs      []railnetv1.GPU
	// Resources maps a netdev to the device plugin resources serving it.
	Resources map[string][]string
	// Configs are the hot-reloaded inputs, for the ConfigValid condition.
	Configs []ConfigInput
}

// Status computes the RDMANode status from a snapshot. prev are the current
// conditions (their transition times are kept when the status does not
// change); generation is the object's metadata.generation.
func Status(s Snapshot, prev []metav1.Condition, generation int64, now metav1.Time) railnetv1.RDMANodeStatus {
	st := railnetv1.RDMANodeStatus{NetnsMode: s.NetnsMode, GPUs: s.GPUs, Conditions: slices.Clone(prev)}
	var down []string
	for _, n := range s.NICs {
		n.Resources = slices.Clone(s.Resources[n.Netdev])
		slices.Sort(n.Resources)
		st.NICs = append(st.NICs, n)
		if n.Rail == nil {
			continue
		}
		st.RailsTotal++
		if n.Up() {
			st.RailsUp++
		} else {
			down = append(down, fmt.Sprintf("rail %d (%s): %s", *n.Rail, n.Netdev, whyDown(&n)))
		}
	}
	shared := metav1.Condition{Type: railnetv1.ConditionRDMASharedMode, ObservedGeneration: generation, LastTransitionTime: now}
	switch s.NetnsMode {
	case railnetv1.NetnsModeShared:
		shared.Status, shared.Reason = metav1.ConditionTrue, ReasonShared
		shared.Message = "the RDMA subsystem shares devices across network namespaces, as macvlan RDMA needs"
	case railnetv1.NetnsModeExclusive:
		shared.Status, shared.Reason = metav1.ConditionFalse, ReasonExclusive
		shared.Message = "the RDMA subsystem is in exclusive netns mode: macvlan pods cannot use the host's RDMA devices; run `rdma system set netns shared` on the node"
	default:
		shared.Status, shared.Reason = metav1.ConditionFalse, ReasonUnsupported
		shared.Message = "the kernel has no RDMA netlink support: this node has no RDMA"
	}
	meta.SetStatusCondition(&st.Conditions, shared)

	ready := metav1.Condition{Type: railnetv1.ConditionRailsReady, ObservedGeneration: generation, LastTransitionTime: now}
	switch {
	case st.RailsTotal == 0:
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonNoRails
		ready.Message = "no RDMA NIC on this node is assigned to a rail"
	case len(down) == 0:
		ready.Status, ready.Reason = metav1.ConditionTrue, ReasonAllRailsUp
		ready.Message = fmt.Sprintf("all %d rails are up", st.RailsTotal)
	default:
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonRailsDown
		ready.Message = fmt.Sprintf("%d of %d rails are up; down: %s", st.RailsUp, st.RailsTotal, strings.Join(down, "; "))
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	meta.SetStatusCondition(&st.Conditions, configCondition(s.Configs, generation, now))
	return st
}

// configCondition is ConfigValid: False, naming each refused input and its
// error, while any input is refused (its last good version stays in force).
func configCondition(in []ConfigInput, generation int64, now metav1.Time) metav1.Condition {
	c := metav1.Condition{Type: railnetv1.ConditionConfigValid, ObservedGeneration: generation, LastTransitionTime: now,
		Status: metav1.ConditionTrue}
	var refused, served []string
	for _, i := range in {
		if i.Err != nil {
			refused = append(refused, fmt.Sprintf("%s refused: %v", i.Name, i.Err))
		} else {
			served = append(served, i.Name)
		}
	}
	switch {
	case len(refused) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, ReasonConfigRefused
		c.Message = strings.Join(refused, "; ") + "; the last good config stays in force: fix the input (its ConfigMap) and the agent applies it without a restart"
	case len(served) > 0:
		c.Reason, c.Message = ReasonConfigServed, strings.Join(served, ", ")+": in force as written"
	default:
		c.Reason, c.Message = ReasonNoConfig, "the agent runs without a hot-reloaded config (device plugin off)"
	}
	return c
}

func whyDown(n *railnetv1.NIC) string {
	var why []string
	if n.LinkState != "up" {
		why = append(why, "link "+n.LinkState)
	}
	if n.RDMADevice != "" && n.PortState != "" && n.PortState != "ACTIVE" {
		why = append(why, fmt.Sprintf("RDMA port %s/%d %s", n.RDMADevice, n.Port, n.PortState))
	}
	return strings.Join(why, ", ")
}

// SameStatus reports whether two statuses differ only in heartbeat and
// condition timestamps.
func SameStatus(a, b railnetv1.RDMANodeStatus) bool {
	a.HeartbeatTime, b.HeartbeatTime = nil, nil
	a.Conditions, b.Conditions = stripTimes(a.Conditions), stripTimes(b.Conditions)
	return equality.Semantic.DeepEqual(a, b)
}

func stripTimes(c []metav1.Condition) []metav1.Condition {
	out := slices.Clone(c)
	for i := range out {
		out[i].LastTransitionTime = metav1.Time{}
	}
	return out
}

// NodeLabels returns the railnet labels a Node should carry for a status.
func NodeLabels(st railnetv1.RDMANodeStatus) map[string]string {
	out := map[string]string{railnetv1.LabelRailsReady: strconv.Itoa(int(st.RailsUp))}
	for _, n := range st.NICs {
		if n.Rail == nil {
			continue
		}
		key := railnetv1.RailLabel(*n.Rail)
		v := railnetv1.RailDown
		if n.Up() {
			v = railnetv1.RailUp
		}
		// Two NICs on one rail: the rail is up when any of them is.
		if out[key] != railnetv1.RailUp {
			out[key] = v
		}
	}
	return out
}

// LabelChanges returns the label updates turning current into want for
// railnet's labels: a value to set, or nil to remove a stale rail label.
// Labels railnet does not own are never touched.
func LabelChanges(current, want map[string]string) map[string]*string {
	out := map[string]*string{}
	for k, v := range want {
		if cur, ok := current[k]; !ok || cur != v {
			out[k] = &v
		}
	}
	for k := range current {
		if _, ok := want[k]; ok {
			continue
		}
		if k == railnetv1.LabelRailsReady || strings.HasPrefix(k, railnetv1.LabelRailPrefix) {
			out[k] = nil
		}
	}
	return out
}
