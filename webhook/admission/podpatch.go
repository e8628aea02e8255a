package admission

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/railnet/railnet/api/injectgroup"
	"github.com/railnet/railnet/api/networks"
	"github.com/railnet/railnet/webhook/inject"
)

// podFields is the part of a pod that injection reads or writes, decoded
// straight from the review's object: names for messages, annotations, the
// pod's resource claims, and each container's name and resources (with
// their claims, for DRA mode). Everything else is skipped, never
// decoded. Pointers record whether a member is present in the JSON, so the
// patch adds a missing map instead of writing into it.
type podFields struct {
	Metadata *struct {
		Name         string            `json:"name"`
		GenerateName string            `json:"generateName"`
		Namespace    string            `json:"namespace"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		// ResourceClaims is nil when the member is missing or null.
		ResourceClaims []corev1.PodResourceClaim `json:"resourceClaims"`
		Containers     []struct {
			Name      string `json:"name"`
			Resources *struct {
				Limits   corev1.ResourceList    `json:"limits"`
				Requests corev1.ResourceList    `json:"requests"`
				Claims   []corev1.ResourceClaim `json:"claims"`
			} `json:"resources"`
			// Env and VolumeMounts: injection reads them and appends to
			// them (the NCCL conf file, inject.AddNCCL).
			Env          []corev1.EnvVar      `json:"env"`
			VolumeMounts []corev1.VolumeMount `json:"volumeMounts"`
		} `json:"containers"`
		// Volumes: their names and host paths are all injection reads.
		Volumes []volumeFields `json:"volumes"`
	} `json:"spec"`
}

// volumeFields is what injection reads of a pod volume.
type volumeFields struct {
	Name     string                       `json:"name"`
	HostPath *corev1.HostPathVolumeSource `json:"hostPath"`
}

// annotations returns the pod's annotations (nil when it has none).
func (p *podFields) annotations() map[string]string {
	if p.Metadata == nil {
		return nil
	}
	return p.Metadata.Annotations
}

// pod returns a corev1.Pod holding p's fields, with its own copies of the
// maps injection writes, so p stays the original to patch from. Of the
// annotations it holds only injectionAnnotations. The pod
// and its containers come from typedPods; releasePod gives them back.
func (p *podFields) pod() *corev1.Pod { return p.fill(typedPods.Get().(*corev1.Pod)) }

// fill gives pod, a cleared one, p's fields.
func (p *podFields) fill(pod *corev1.Pod) *corev1.Pod {
	if m := p.Metadata; m != nil {
		pod.Name, pod.GenerateName, pod.Namespace = m.Name, m.GenerateName, m.Namespace
		pod.Annotations = injectionView(m.Annotations)
	}
	pod.Spec.ResourceClaims = slices.Clone(p.Spec.ResourceClaims)
	pod.Spec.Containers = slices.Grow(pod.Spec.Containers[:0], len(p.Spec.Containers))[:len(p.Spec.Containers)]
	if pod.Spec.Containers == nil {
		pod.Spec.Containers = []corev1.Container{} // as make did
	}
	for i, c := range p.Spec.Containers {
		pod.Spec.Containers[i].Name = c.Name
		if r := c.Resources; r != nil {
			pod.Spec.Containers[i].Resources = corev1.ResourceRequirements{
				Limits: maps.Clone(r.Limits), Requests: maps.Clone(r.Requests), Claims: slices.Clone(r.Claims)}
		}
		pod.Spec.Containers[i].Env = slices.Clone(c.Env)
		pod.Spec.Containers[i].VolumeMounts = slices.Clone(c.VolumeMounts)
	}
	pod.Spec.Volumes = podVolumes(p.Spec.Volumes)
	return pod
}

// typedPods holds the typed pods injection works on between reviews: a
// corev1.Pod and one container are 1.7 KiB of memory with pointers,
// allocated per review and cleared by the GC otherwise. A pod's
// containers slice stays with it.
var typedPods = sync.Pool{New: func() any { return new(corev1.Pod) }}

// releasePod clears pod, which pod() returned, and gives it back to
// typedPods. Nothing may hold pod, its containers or anything of theirs
// but strings (an answer's messages and warnings) after.
func releasePod(pod *corev1.Pod) {
	cs := pod.Spec.Containers
	clear(cs[:cap(cs)])
	*pod = corev1.Pod{}
	pod.Spec.Containers = cs[:0]
	typedPods.Put(pod)
}

// podPatch returns the JSON patch that turns the pod orig was decoded from
// into after, looking only at what injection may change: annotations
// (injectionAnnotations), the
// containers' resource limits and requests, the lists injection appends
// to (podpatch_lists.go) and (DRA mode) the pod's resource claims and the
// containers' claims. Maps missing from the original are added whole; keys
// are added, replaced or removed one by one, in key order. nil means no
// change. The operations are written straight into the patch's JSON, byte
// for byte as json.Marshal would write them (podpatch_json.go): no
// operation list, no path strings, no reflection for the values injection
// writes.
func podPatch(orig *podFields, after *corev1.Pod) ([]byte, error) {
	w := patchWriter{buf: getScratch(patchSize(after))}
	if orig.Metadata == nil {
		if len(after.Annotations) > 0 {
			w.begin("add", podPtr("/metadata"))
			w.value()
			w.rawString(`{"annotations":`)
			var r repeats
			w.put(appendMap(w.buf, after.Annotations, r.appendString))
			w.buf = append(w.buf, '}')
			w.end()
		}
	} else if err := annotationOps(&w, orig.Metadata.Annotations, after.Annotations); err != nil {
		putScratch(w.buf)
		return nil, err
	}
	for i, c := range orig.Spec.Containers {
		if i >= len(after.Spec.Containers) {
			break
		}
		res := after.Spec.Containers[i].Resources
		if c.Resources == nil {
			if len(res.Limits) > 0 || len(res.Requests) > 0 {
				w.begin("add", containerPtr(i, "/resources"))
				w.value()
				w.put(appendResources(w.buf, res.Limits, res.Requests))
				w.end()
			}
			continue
		}
		mapOps(&w, containerPtr(i, "/resources/limits"), c.Resources.Limits, res.Limits, resource.Quantity.Equal, appendQuantity)
		mapOps(&w, containerPtr(i, "/resources/requests"), c.Resources.Requests, res.Requests, resource.Quantity.Equal, appendQuantity)
	}
	if err := listOps(&w, orig, after); err != nil {
		return nil, err
	}
	podClaimOps(&w, orig, after)
	containerClaimOps(&w, orig, after)
	patch, err := w.patch()
	if patch == nil {
		putScratch(w.buf)
	}
	return patch, err
}

// patchSize is a generous guess of the patch's size for after, so its
// buffer is allocated once.
func patchSize(after *corev1.Pod) int {
	n := 256
	for k, v := range after.Annotations {
		n += 48 + len(k) + len(v) + len(v)/8
	}
	for i := range after.Spec.Containers {
		c := &after.Spec.Containers[i]
		n += 64*(len(c.Resources.Limits)+len(c.Resources.Requests)) + 128*(len(c.Env)+len(c.VolumeMounts))
	}
	return n + 160*len(after.Spec.Volumes)
}

// podClaimOps writes the operations adding the claims after has beyond
// the original's spec.resourceClaims: the whole list when the member is
// missing, else each new claim at the end. Injection only appends claims.
func podClaimOps(w *patchWriter, orig *podFields, after *corev1.Pod) {
	before := orig.Spec.ResourceClaims
	if len(after.Spec.ResourceClaims) <= len(before) {
		return
	}
	if before == nil {
		w.begin("add", podPtr("/spec/resourceClaims"))
		w.value()
		w.put(appendList(w.buf, after.Spec.ResourceClaims, appendPodClaim))
		w.end()
		return
	}
	for _, c := range after.Spec.ResourceClaims[len(before):] {
		w.begin("add", podPtr("/spec/resourceClaims"))
		w.key("-")
		w.value()
		w.put(appendPodClaim(w.buf, c))
		w.end()
	}
}

// containerClaimOps writes the operations adding the claims each
// container has in after beyond its original resources.claims: the
// resources member with the claims when it is missing and the limits and
// requests operations did not add it, the claims list when it is missing,
// else each new claim at the end. Injection only appends claims.
func containerClaimOps(w *patchWriter, orig *podFields, after *corev1.Pod) {
	for i, c := range orig.Spec.Containers {
		if i >= len(after.Spec.Containers) {
			break
		}
		var before []corev1.ResourceClaim
		if c.Resources != nil {
			before = c.Resources.Claims
		}
		res := &after.Spec.Containers[i].Resources
		if len(res.Claims) <= len(before) {
			continue
		}
		switch {
		case c.Resources == nil && len(res.Limits) == 0 && len(res.Requests) == 0:
			w.begin("add", containerPtr(i, "/resources"))
			w.value()
			w.rawString(`{"claims":`)
			w.put(appendList(w.buf, res.Claims, appendClaim))
			w.buf = append(w.buf, '}')
			w.end()
		case before == nil:
			w.begin("add", containerPtr(i, "/resources/claims"))
			w.value()
			w.put(appendList(w.buf, res.Claims, appendClaim))
			w.end()
		default:
			for _, cl := range res.Claims[len(before):] {
				w.begin("add", containerPtr(i, "/resources/claims"))
				w.key("-")
				w.value()
				w.put(appendClaim(w.buf, cl))
				w.end()
			}
		}
	}
}

// mapOps writes the operations that turn the JSON object at p from before
// into after, its values written by enc. A nil before is a missing (or
// null) member: the whole map is added.
func mapOps[K ~string, V any](w *patchWriter, p jsonPointer, before, after map[K]V, equal func(V, V) bool, enc func([]byte, V) ([]byte, error)) {
	if before == nil {
		if len(after) > 0 {
			w.begin("add", p)
			w.value()
			w.put(appendMap(w.buf, after, enc))
			w.end()
		}
		return
	}
	var small [16]K // the keys of a pod's maps, on the stack
	keys := small[:0]
	for k := range after {
		keys = append(keys, k)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		old, had := before[k]
		v, has := after[k]
		switch {
		case !has:
			w.begin("remove", p)
			w.key(string(k))
			w.endNoValue()
		case !had, !equal(old, v):
			op := "add"
			if had {
				op = "replace"
			}
			w.begin(op, p)
			w.key(string(k))
			w.value()
			w.put(enc(w.buf, v))
			w.end()
		}
	}
}

// injectionAnnotations are the only pod annotations injection reads or
// writes, in order: the keys naming an inject group
// (injectgroup.Keys), the Multus networks annotation and railnet's record
// of it, and the injection summary. The typed pod injection works on
// holds only these (injectionView), and the patch looks only at these
// (annotationOps): any other annotation can make no difference to an
// answer, which is why the remembered answers (memo.go) are not keyed by
// them.
var injectionAnnotations = func() []string {
	keys := append(slices.Clone(injectgroup.Keys), networks.Annotation, inject.AnnotationInjected, inject.AnnotationSummary)
	slices.Sort(keys)
	return slices.Compact(keys)
}()

// injectionView returns a copy of annotations holding only
// injectionAnnotations: nil when annotations is nil (the member is
// missing: the patch adds the whole map), else a map, empty or not.
func injectionView(annotations map[string]string) map[string]string {
	if annotations == nil {
		return nil
	}
	out := make(map[string]string, len(injectionAnnotations))
	for _, k := range injectionAnnotations {
		if v, ok := annotations[k]; ok {
			out[k] = v
		}
	}
	return out
}

// annotationOps writes the operations that turn the pod's annotations
// (before; nil when the member is missing, then after is added whole)
// into after, which holds
// injectionAnnotations only: those keys are added, replaced or removed
// one by one, in key order, as mapOps does; every other annotation is
// left as it is. A key outside injectionAnnotations in after is an error
// (injection wrote an annotation it may not), not a patch that drops it.
func annotationOps(w *patchWriter, before, after map[string]string) error {
	for k := range after {
		if !slices.Contains(injectionAnnotations, k) {
			return fmt.Errorf("injection wrote annotation %s, which is not one of %v", k, injectionAnnotations)
		}
	}
	p := podPtr("/metadata/annotations")
	var r repeats
	if before == nil { // the member is missing: added whole
		if len(after) > 0 {
			w.begin("add", p)
			w.value()
			w.put(appendMap(w.buf, after, r.appendString))
			w.end()
		}
		return nil
	}
	for _, k := range injectionAnnotations {
		old, had := before[k]
		v, has := after[k]
		switch {
		case !has && had:
			w.begin("remove", p)
			w.key(k)
			w.endNoValue()
		case has && (!had || old != v):
			op := "add"
			if had {
				op = "replace"
			}
			w.begin(op, p)
			w.key(k)
			w.value()
			w.put(r.appendString(w.buf, v))
			w.end()
		}
	}
	return nil
}
