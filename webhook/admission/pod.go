package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/railnet/railnet/api/injectgroup"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
	"github.com/railnet/railnet/webhook/drainject"
	"github.com/railnet/railnet/webhook/inject"
)

// pods injects pods of an inject group (webhook/inject; webhook/drainject
// in DRA mode). One is made per review: the wrapper calls Leaves, then
// Default on the same pod, and Default reuses the answer Leaves found.
type pods struct {
	h      *Handler
	answer answer // Leaves' answer, when asked
	asked  bool
	// recall sets what the answer is computed from, for Default, and
	// what remember needs: the SpiderMultusConfigs (when haveConfigs),
	// their table of remembered answers and the review's key (nil: the
	// answer is not remembered).
	configs     []*spiderv2beta1.SpiderMultusConfig
	haveConfigs bool
	gen         *memoGen
	key         []byte
	// logged is what Default logged of the injection, when it did.
	logged bool
	log    injectedLog
}

// answer is what ask found for a pod.
type answer struct {
	cfg   inject.Config
	ir    injectgroup.Request
	nsAnn map[string]string
	ok    bool
}

// Leaves reports whether Default leaves a pod with these annotations in
// namespace as it is: the configuration does not inject there, or neither
// the pod nor its namespace names an inject group. It costs the
// configuration and, when the pod names no group itself, its namespace's
// annotations: two cache reads.
func (p *pods) Leaves(ctx context.Context, namespace string, annotations map[string]string) (bool, error) {
	a, err := p.ask(ctx, namespace, annotations)
	if err != nil {
		return false, err
	}
	p.answer, p.asked = a, true
	return !a.ok, nil
}

// Default injects the group pod or its namespace asks for, if the
// configuration injects there.
func (p *pods) Default(ctx context.Context, pod *corev1.Pod) (mutation, error) {
	a := &p.answer
	if !p.asked {
		asked, err := p.ask(ctx, pod.Namespace, pod.Annotations)
		if err != nil {
			return mutation{}, err
		}
		a = &asked
	}
	if !a.ok {
		return mutation{}, nil
	}
	configs := p.configs
	if !p.haveConfigs {
		var err error
		if configs, err = p.h.Store.MultusConfigs(ctx); err != nil {
			return mutation{}, storeFailed(err)
		}
	}
	// DRA mode only where some SpiderMultusConfig carries a mode: the
	// device-plugin path pays one map lookup per config for it.
	if slices.ContainsFunc(configs, drainject.HasMode) {
		g, err := drainject.Resolve(a.ir, configs, drainject.PodRef(pod))
		if err != nil {
			return mutation{}, injectRefusal(err)
		}
		if g != nil {
			return p.defaultDRA(ctx, pod, a.ir, g, configs)
		}
	}
	res, err := inject.Asked(pod, a.ir, a.cfg, configs)
	if err != nil {
		return mutation{}, injectRefusal(err)
	}
	if res == nil {
		return mutation{}, nil
	}
	p.logged = true
	p.log = injectedLog{group: res.Request.Value, networks: len(res.Networks), resources: len(res.Resources), container: res.Container}
	logInjected(ctx, pod.Namespace, pod.Name, pod.GenerateName, &p.log)
	return mutation{Changed: true, Injected: res.Request.Value}, nil
}

// logInjected logs an injection (verbosity 2) of the pod named name or,
// without one, generateName.
func logInjected(ctx context.Context, namespace, name, generateName string, l *injectedLog) {
	if log := klog.FromContext(ctx).V(2); log.Enabled() {
		if name == "" {
			name = generateName
		}
		log.Info("pod injected", "namespace", namespace, "pod", name,
			"group", l.group, "networks", l.networks, "resources", l.resources, "container", l.container)
	}
}

// recall returns the answer remembered for a pod like orig (memo.go), nil
// when there is none or the answer is not remembered; it reads the
// SpiderMultusConfigs Default then injects from.
func (p *pods) recall(ctx context.Context, req *admissionv1.AdmissionRequest, namespace string, orig *podFields) *admissionv1.AdmissionResponse {
	if !p.asked || !p.answer.ok {
		return nil
	}
	configs, err := p.h.Store.MultusConfigs(ctx)
	if err != nil {
		return nil // Default reads them again and refuses
	}
	p.configs, p.haveConfigs = configs, true
	if slices.ContainsFunc(configs, drainject.HasMode) {
		return nil // DRA mode: never remembered
	}
	key, ok := appendMemoKey(getScratch(0), namespace, &p.answer, orig)
	if !ok {
		putScratch(key)
		return nil
	}
	g := p.h.memo.generation(configs)
	e := g.find(key)
	if e == nil {
		p.gen, p.key = g, key
		return nil
	}
	putScratch(key)
	resp := allowed(req)
	resp.Warnings = e.warnings
	if e.patch != nil {
		resp.Patch, resp.PatchType = e.patch, &jsonPatch
		p.h.countInjected(resp, e.injected)
	}
	if e.logged {
		var name, generateName string
		if m := orig.Metadata; m != nil {
			name, generateName = m.Name, m.GenerateName
		}
		logInjected(ctx, namespace, name, generateName, &e.log)
	}
	return resp
}

// remember remembers resp, Default's answer, by the key recall made.
func (p *pods) remember(resp *admissionv1.AdmissionResponse, m mutation) {
	if p.key == nil {
		return
	}
	if resp.Allowed && resp.Result == nil {
		p.gen.put(p.key, &memoEntry{patch: resp.Patch, warnings: slices.Clone(m.Warnings), injected: m.Injected,
			logged: p.logged, log: p.log})
	}
	putScratch(p.key)
	p.key = nil
}

// ask returns the configuration and the inject group a pod in namespace
// with annotations asks for (injectgroup.Ask), with its namespace's
// annotations when they were read; ok is false when it asks for none
// that the configuration injects.
func (p *pods) ask(ctx context.Context, namespace string, annotations map[string]string) (a answer, err error) {
	if a.cfg, err = p.h.Store.InjectConfig(ctx); err != nil {
		return a, storeFailed(err)
	}
	a.ir, a.ok = injectgroup.Ask(namespace, annotations, func() map[string]string {
		a.nsAnn, err = p.h.Store.NamespaceAnnotations(ctx, namespace)
		return a.nsAnn
	}, a.cfg)
	if err != nil {
		return answer{}, storeFailed(err)
	}
	return a, nil
}

// injectRefusal refuses with a *inject.Refusal's reason (403); any other
// error is an internal failure of injection.
func injectRefusal(err error) error {
	var r *inject.Refusal
	if errors.As(err, &r) {
		return forbidden(r.Reason, r)
	}
	return &refusal{reason: "inject-failed", code: http.StatusInternalServerError, err: err}
}

// storeFailed refuses what the cluster state could not be read for.
func storeFailed(err error) error {
	return &refusal{reason: ReasonStore, code: http.StatusInternalServerError,
		err: fmt.Errorf("railnet webhook cannot read the cluster state (%w); retry shortly", err)}
}

func podName(p *corev1.Pod) string {
	if p.Name != "" {
		return p.Name
	}
	return p.GenerateName
}
