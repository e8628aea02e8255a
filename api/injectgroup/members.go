package injectgroup

import (
	"fmt"
	"slices"
	"strings"

	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// Refusal reasons, used as metric labels.
const (
	ReasonEmptyGroup = "empty-group"
	ReasonNoMember   = "no-member"
	ReasonUnusable   = "unusable-config"
)

// Refusal is why a pod's inject group cannot be injected; Error is what the
// pod's creator reads, from the webhook and from the extender alike.
type Refusal struct {
	// Reason is one of the Reason constants.
	Reason string
	// Pod is the pod whose group it is.
	Pod     Pod
	Request Request
	// Group is the group no config carries (ReasonNoMember).
	Group string
	// Problems say, per unusable member, what it lacks (ReasonUnusable).
	Problems []string
}

func (r *Refusal) Error() string {
	where := "annotation " + r.Request.Key
	if r.Request.FromNamespace {
		where += " of namespace " + r.Pod.Namespace
	}
	switch r.Reason {
	case ReasonEmptyGroup:
		return fmt.Sprintf("pod %s: %s is empty; name an inject group or remove the annotation", r.Pod.String(), where)
	case ReasonNoMember:
		return fmt.Sprintf("pod %s asks for inject group %q (%s) but no SpiderMultusConfig carries %s: %s; annotate the group's SpiderMultusConfigs or fix the pod's annotation",
			r.Pod.String(), r.Group, where, r.Request.Key, r.Group)
	}
	return fmt.Sprintf("pod %s asks for inject group %q (%s), which cannot be injected: %s; fix these SpiderMultusConfigs or remove them from the group",
		r.Pod.String(), strings.Join(r.Request.Groups, ","), where, strings.Join(r.Problems, "; "))
}

// Pod is the pod whose group is resolved, as refusals name it.
type Pod struct {
	Namespace, Name, GenerateName string
}

// String is namespace/name, or namespace/generateName* for a pod whose name
// the API server has not chosen yet.
func (p Pod) String() string {
	name := p.Name
	if name == "" && p.GenerateName != "" {
		name = p.GenerateName + "*"
	}
	return p.Namespace + "/" + name
}

// Members returns the usable members of the groups req names, each once and
// in rail order (SortConfigs), or a *Refusal when a group is empty, has no
// member, or has members that cannot be injected. candidates(group) returns
// configs that may carry req.Key: group (all configs, or an index's answer;
// the rule is checked here again). pod is named in the refusal.
func Members(pod Pod, req Request,
	candidates func(group string) []*spiderv2beta1.SpiderMultusConfig) ([]*spiderv2beta1.SpiderMultusConfig, error) {
	refuse := func(reason string) *Refusal {
		return &Refusal{Reason: reason, Pod: pod, Request: req}
	}
	if len(req.Groups) == 0 {
		return nil, refuse(ReasonEmptyGroup)
	}
	var members, seen []*spiderv2beta1.SpiderMultusConfig
	var problems []string
	for _, g := range req.Groups {
		found := false
		cands := candidates(g)
		if members == nil {
			members = make([]*spiderv2beta1.SpiderMultusConfig, 0, len(cands))
		}
		for _, smc := range cands {
			if !InGroup(smc, req.Key, g) {
				continue
			}
			found = true
			if len(req.Groups) > 1 { // a config may be in several of them
				if slices.ContainsFunc(seen, func(o *spiderv2beta1.SpiderMultusConfig) bool {
					return o.Name == smc.Name && o.Namespace == smc.Namespace
				}) {
					continue
				}
				seen = append(seen, smc)
			}
			if problem := unusable(smc, req.Key); problem != "" {
				problems = append(problems, problem)
				continue
			}
			members = append(members, smc)
		}
		if !found {
			r := refuse(ReasonNoMember)
			r.Group = g
			return nil, r
		}
	}
	if len(problems) > 0 {
		r := refuse(ReasonUnusable)
		r.Problems = problems
		return nil, r
	}
	SortConfigs(members)
	return members, nil
}

// Rail is the rail a SpiderMultusConfig gives a pod: its first master NIC,
// "" for kinds without one (SR-IOV).
func Rail(smc *spiderv2beta1.SpiderMultusConfig) string {
	if m := smc.Spec.Masters(); len(m) > 0 {
		return m[0]
	}
	return ""
}

// SortConfigs puts configs in rail order: by Rail in natural order (eth2
// before eth10), then by namespace/name. The sort is stable, so equal
// configs keep their order.
func SortConfigs(cs []*spiderv2beta1.SpiderMultusConfig) {
	slices.SortStableFunc(cs, func(a, b *spiderv2beta1.SpiderMultusConfig) int {
		if c := networks.CompareNatural(Rail(a), Rail(b)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
