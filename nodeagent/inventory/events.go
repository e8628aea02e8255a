package inventory

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// Reasons of the events the agent records on its Node when a rail changes.
const (
	EventRailDown = "RailDown"
	EventRailUp   = "RailUp"
)

// RailEvent is one event to record on the Node.
type RailEvent struct {
	Type    string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason  string
	Message string
}

// RailChanges returns the events for rails whose state differs between two
// statuses' NICs: a rail NIC that went down or disappeared (Warning
// RailDown) and one that came up (Normal RailUp). With prev nil (the agent
// just started) every rail that is down is reported. A NIC is matched by
// rail number; NICs on no rail are ignored.
func RailChanges(prev, next []railnetv1.NIC, first bool) []RailEvent {
	before := rails(prev)
	after := rails(next)
	var out []RailEvent
	for _, r := range sortedRails(after) {
		n := after[r]
		was, seen := before[r]
		switch {
		case !n.Up() && (first || !seen || was.Up()):
			out = append(out, RailEvent{Type: corev1.EventTypeWarning, Reason: EventRailDown, Message: fmt.Sprintf(
				"rail %d (%s) is down: %s; the extender keeps pods that need rail %d off this node until it is up again "+
					"(check the NIC's cable and its leaf switch port, or drain the node)", r, n.Netdev, whyDown(&n), r)})
		case n.Up() && seen && !was.Up():
			out = append(out, RailEvent{Type: corev1.EventTypeNormal, Reason: EventRailUp, Message: fmt.Sprintf(
				"rail %d (%s) is up again", r, n.Netdev)})
		}
	}
	for _, r := range sortedRails(before) {
		if _, ok := after[r]; !ok && !first {
			out = append(out, RailEvent{Type: corev1.EventTypeWarning, Reason: EventRailDown, Message: fmt.Sprintf(
				"rail %d (%s) is gone from the node: its NIC is no longer found; pods that need rail %d cannot run here", r, before[r].Netdev, r)})
		}
	}
	return out
}

func rails(nics []railnetv1.NIC) map[int32]railnetv1.NIC {
	out := map[int32]railnetv1.NIC{}
	for _, n := range nics {
		if n.Rail != nil {
			out[*n.Rail] = n
		}
	}
	return out
}

func sortedRails(m map[int32]railnetv1.NIC) []int32 {
	out := make([]int32, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
