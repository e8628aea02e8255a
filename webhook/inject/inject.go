package inject

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/railnet/railnet/api/injectgroup"
	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// AnnotationInjected records the networks value railnet wrote, so that a
// later run may replace its own stale value but never a user's.
const AnnotationInjected = "railnet.io/injected-networks"

// Refusal reasons, used as metric labels: the rulebook's, and the
// webhook's own conflict with a networks annotation the pod sets.
const (
	ReasonEmptyGroup = injectgroup.ReasonEmptyGroup
	ReasonNoMember   = injectgroup.ReasonNoMember
	ReasonUnusable   = injectgroup.ReasonUnusable
	ReasonConflict   = "networks-conflict"
)

// Refusal is why a pod is refused; Message is what its creator reads.
type Refusal struct {
	Reason  string
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// Result says what Pod did.
type Result struct {
	Request   injectgroup.Request
	Networks  []networks.Ref
	Resources []corev1.ResourceName
	// Container is the name of the container that got the resources.
	Container string
	// NCCL is what AddNCCL did to that container; nil when the pod got no
	// RDMA resource or the configuration turns the NCCL conf file off.
	NCCL *NCCLResult
}

// resultBuf holds what a Result points to for a group of up to 8 members
// (one node's rails), so that a result is one allocation.
type resultBuf struct {
	res       Result
	nccl      NCCLResult
	networks  [8]networks.Ref
	resources [8]corev1.ResourceName
}

// newResult returns an empty Result of req with room for members
// networks and resources.
func newResult(req injectgroup.Request, members int) *resultBuf {
	b := &resultBuf{}
	b.res = Result{Request: req, Networks: b.networks[:0], Resources: b.resources[:0]}
	if members > len(b.networks) {
		b.res.Networks = make([]networks.Ref, 0, members)
		b.res.Resources = make([]corev1.ResourceName, 0, members)
	}
	return b
}

// Pod injects the inject group the pod (or its namespace) names into pod, in
// place. A pod that sets its own networks annotation is left alone when
// the group comes from its namespace, and refused when it names a group
// itself. configs are all SpiderMultusConfigs of the cluster. It returns nil,
// nil when the pod names no group or cfg excludes its namespace, and a
// *Refusal when the pod must not be created as it is. Running it again on
// its own output changes nothing.
func Pod(pod *corev1.Pod, namespaceAnnotations map[string]string, cfg Config,
	configs []*spiderv2beta1.SpiderMultusConfig) (*Result, error) {
	req, ok := injectgroup.Ask(pod.Namespace, pod.Annotations, func() map[string]string { return namespaceAnnotations }, cfg)
	if !ok {
		return nil, nil
	}
	return Asked(pod, req, cfg, configs)
}

// Asked is Pod for a pod whose inject group injectgroup.Ask has found
// (req; cfg injects it in the pod's namespace): the webhook asks once per
// review and passes the answer on.
func Asked(pod *corev1.Pod, req injectgroup.Request, cfg Config,
	configs []*spiderv2beta1.SpiderMultusConfig) (*Result, error) {
	if req.FromNamespace && ownNetworks(pod) {
		// The pod chose its networks itself; a namespace-wide group does
		// not override that choice.
		return nil, nil
	}
	who := injectgroup.Pod{Namespace: pod.Namespace, Name: pod.Name, GenerateName: pod.GenerateName}
	members, err := injectgroup.Members(who, req,
		func(string) []*spiderv2beta1.SpiderMultusConfig { return configs })
	if err != nil {
		var r *injectgroup.Refusal
		if errors.As(err, &r) {
			return nil, &Refusal{Reason: r.Reason, Message: r.Error()}
		}
		return nil, err
	}
	buf := newResult(req, len(members))
	res := &buf.res
	for _, smc := range members {
		res.Networks = append(res.Networks, networks.Ref{Namespace: smc.Namespace, Name: smc.Name})
		if r := corev1.ResourceName(smc.Spec.ResourceName()); r != "" && !slices.Contains(res.Resources, r) {
			res.Resources = append(res.Resources, r)
		}
	}
	want := FormatNetworks(res.Networks)
	if err := checkExisting(pod, want, res.Networks, req, who); err != nil {
		return nil, err
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[networks.Annotation] = want
	pod.Annotations[AnnotationInjected] = want
	res.Container = addResources(pod, res.Resources)
	if on, dir := cfg.NCCL(); on && len(res.Resources) > 0 && res.Container != "" {
		buf.nccl = AddNCCL(pod, res.Container, dir)
		res.NCCL = &buf.nccl
	}
	pod.Annotations[AnnotationSummary] = Summary(res)
	return res, nil
}

// FormatNetworks writes refs the way the seed guide shows them: a JSON list
// with one network per line.
func FormatNetworks(refs []networks.Ref) string {
	n := 2
	for _, r := range refs {
		if !plain(r.Name) || !plain(r.Namespace) || !plain(r.Interface) {
			return strings.ReplaceAll(networks.Format(refs), "},{", "},\n{")
		}
		n += len(r.Name) + len(r.Namespace) + len(r.Interface) + 40
	}
	// Kubernetes names need no JSON escaping: write them directly, as
	// networks.Format would.
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('[')
	for i, r := range refs {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`{"name":"`)
		b.WriteString(r.Name)
		b.WriteString(`","namespace":"`)
		b.WriteString(r.Namespace)
		if r.Interface != "" {
			b.WriteString(`","interface":"`)
			b.WriteString(r.Interface)
		}
		b.WriteString(`"}`)
	}
	b.WriteByte(']')
	return b.String()
}

// plain reports whether s is written in JSON as it is (letters, digits,
// "-", ".", "_").
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// checkExisting refuses a pod that sets its own networks annotation together
// with an inject group, unless the annotation already is what railnet would
// write or is railnet's own earlier (stale) value.
func checkExisting(pod *corev1.Pod, want string, refs []networks.Ref, req injectgroup.Request, who injectgroup.Pod) error {
	cur, ok := pod.Annotations[networks.Annotation]
	if !ok || strings.TrimSpace(cur) == "" || cur == want {
		return nil
	}
	if own, ok := pod.Annotations[AnnotationInjected]; ok && own == cur {
		return nil
	}
	if got, err := networks.Parse(cur, pod.Namespace); err == nil && slices.Equal(got, refs) {
		return nil
	}
	return &Refusal{Reason: ReasonConflict, Message: fmt.Sprintf(
		"pod %s sets %s itself and also asks for inject group %q (annotation %s); use one or the other: remove %s to let railnet inject the group, or remove %s",
		who.String(), networks.Annotation, req.Value, req.Key, networks.Annotation, req.Key)}
}

// addResources adds a limit of 1 for each resource no container has yet, on
// the container that asks for GPUs, else the first. It returns that
// container's name.
func addResources(pod *corev1.Pod, resources []corev1.ResourceName) string {
	if len(pod.Spec.Containers) == 0 {
		return ""
	}
	target := 0
	for i := range pod.Spec.Containers {
		if asksGPU(&pod.Spec.Containers[i]) {
			target = i
			break
		}
	}
	c := &pod.Spec.Containers[target]
	for _, r := range resources {
		if hasResource(pod, r) {
			continue
		}
		if c.Resources.Limits == nil {
			c.Resources.Limits = make(corev1.ResourceList, len(resources))
		}
		c.Resources.Limits[r] = one.DeepCopy()
	}
	return c.Name
}

// one is the limit injection adds; String() caches its text, which
// copies keep, so writing the patch does not format it again.
var one = func() resource.Quantity {
	q := resource.MustParse("1")
	_ = q.String()
	return q
}()

func asksGPU(c *corev1.Container) bool {
	for _, l := range []corev1.ResourceList{c.Resources.Limits, c.Resources.Requests} {
		for name := range l {
			if strings.HasSuffix(string(name), "/gpu") {
				return true
			}
		}
	}
	return false
}

func hasResource(pod *corev1.Pod, r corev1.ResourceName) bool {
	for _, c := range pod.Spec.Containers {
		if _, ok := c.Resources.Limits[r]; ok {
			return true
		}
		if _, ok := c.Resources.Requests[r]; ok {
			return true
		}
	}
	return false
}

// ownNetworks reports whether the pod carries a networks annotation that
// railnet did not write.
func ownNetworks(pod *corev1.Pod) bool {
	cur, ok := pod.Annotations[networks.Annotation]
	if !ok || strings.TrimSpace(cur) == "" {
		return false
	}
	own, ok := pod.Annotations[AnnotationInjected]
	return !ok || own != cur
}
