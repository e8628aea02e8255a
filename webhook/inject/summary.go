package inject

import (
	"strings"
)

// AnnotationSummary says on an injected pod, in one line, what railnet
// injected and why, so that `kubectl describe pod` shows it: the group and
// the annotation that named it, the networks, and the RDMA resources with
// the container that got them.
const AnnotationSummary = "railnet.io/injection"

// Summary is the value of AnnotationSummary for what Pod did, e.g.
//
//	group rdma-network (pod annotation cni.spidernet.io/rdma-resource-inject): networks spiderpool/gpu1-macvlan,spiderpool/gpu2-macvlan; 1 each of spidernet.io/gpu1rdma,spidernet.io/gpu2rdma on container trainer
//
// It is a pure function of res: running the injection again writes the
// same value.
func Summary(res *Result) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	b.Grow(summarySize(res))
	b.WriteString("group ")
	b.WriteString(res.Request.Value)
	b.WriteString(" (")
	if res.Request.FromNamespace {
		b.WriteString("namespace annotation ")
	} else {
		b.WriteString("pod annotation ")
	}
	b.WriteString(res.Request.Key)
	b.WriteString("): networks ")
	for i, n := range res.Networks {
		if i > 0 {
			b.WriteByte(',')
		}
		if n.Namespace != "" {
			b.WriteString(n.Namespace)
			b.WriteByte('/')
		}
		b.WriteString(n.Name)
	}
	if len(res.Resources) == 0 {
		b.WriteString("; no RDMA resource")
		return b.String()
	}
	b.WriteString("; 1 each of ")
	for i, r := range res.Resources {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(r))
	}
	if res.Container != "" {
		b.WriteString(" on container ")
		b.WriteString(res.Container)
	}
	writeNCCLSummary(&b, res.NCCL)
	return b.String()
}

// summarySize is at least the length of Summary(res) (its fixed words take
// under 160 bytes), so its builder grows once.
func summarySize(res *Result) int {
	n := 160 + len(res.Request.Value) + len(res.Request.Key) + len(res.Container)
	for _, r := range res.Networks {
		n += len(r.Namespace) + len(r.Name) + 2
	}
	for _, r := range res.Resources {
		n += len(r) + 1
	}
	if r := res.NCCL; r != nil {
		n += len(r.ConfFile) + len(r.Skipped) + 96
		for _, k := range r.Kept {
			n += len(k) + 2
		}
	}
	return n
}
