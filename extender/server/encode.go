package server

import (
	"encoding/json"
	"strconv"
	"sync"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/railnet/railnet/api/jsonw"
	"github.com/railnet/railnet/extender/placement"
)

// The answers are written by hand: a filter answer for 5,000 nodes is
// mostly node names, and encoding/json's reflection would cost more than
// deciding about the nodes. The output is what encoding/json writes for the
// same values (the tests compare them).

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// AppendFilterResult appends res as JSON.
func AppendFilterResult(b []byte, res *extenderv1.ExtenderFilterResult) ([]byte, error) {
	if res.Nodes != nil {
		// Only schedulers without nodeCacheCapable send whole Nodes.
		out, err := json.Marshal(res)
		return append(b, out...), err
	}
	b = append(b, `{"Nodes":null,"NodeNames":`...)
	if res.NodeNames == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, n := range *res.NodeNames {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.String(b, n)
		}
		b = append(b, ']')
	}
	b = append(b, `,"FailedNodes":`...)
	b = appendReasons(b, res.FailedNodes)
	b = append(b, `,"FailedAndUnresolvableNodes":`...)
	b = appendReasons(b, res.FailedAndUnresolvableNodes)
	b = append(b, `,"Error":`...)
	b = jsonw.String(b, res.Error)
	return append(b, '}'), nil
}

// appendReasons appends a FailedNodesMap; its order does not matter to the
// scheduler, so it is not sorted.
func appendReasons(b []byte, m extenderv1.FailedNodesMap) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	first := true
	for node, reason := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonw.String(b, node)
		b = append(b, ':')
		b = jsonw.String(b, reason)
	}
	return append(b, '}')
}

// AppendPriorities appends a HostPriorityList as JSON.
func AppendPriorities(b []byte, list extenderv1.HostPriorityList) []byte {
	return appendScores(b, list)
}

// appendScores appends scores as the HostPriorityList of the same hosts
// and scores would be (the two types are the same struct): the extender's
// answer without copying its scores into a HostPriorityList first.
func appendScores[T extenderv1.HostPriority | placement.HostScore](b []byte, list []T) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range list {
		p := placement.HostScore(list[i])
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Host":`...)
		b = jsonw.String(b, p.Host)
		b = append(b, `,"Score":`...)
		b = strconv.AppendInt(b, p.Score, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}
