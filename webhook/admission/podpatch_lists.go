package admission

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// The lists injection appends to — each container's env and volumeMounts,
// the pod's volumes (inject.AddNCCL) — are patched by appending: a missing
// (or null) list is added whole, an existing one gets "add …/-" per new
// entry. Injection never changes or reorders an entry the pod has; a
// result that does is an error, not a patch that would silently drop it.

// podVolumes is the pod's volumes as injection sees them: names and host
// paths.
func podVolumes(vs []volumeFields) []corev1.Volume {
	if vs == nil {
		return nil
	}
	out := make([]corev1.Volume, len(vs))
	for i, v := range vs {
		out[i].Name = v.Name
		if v.HostPath != nil {
			hp := *v.HostPath
			out[i].HostPath = &hp
		}
	}
	return out
}

// listOps writes the operations for the entries injection appended to
// the pod's lists.
func listOps(w *patchWriter, orig *podFields, after *corev1.Pod) error {
	for i, c := range orig.Spec.Containers {
		if i >= len(after.Spec.Containers) {
			break
		}
		a := &after.Spec.Containers[i]
		if err := appendOps(w, containerPtr(i, "/env"), c.Env, a.Env, envName, envName, appendEnv); err != nil {
			return err
		}
		if err := appendOps(w, containerPtr(i, "/volumeMounts"), c.VolumeMounts, a.VolumeMounts, mountKey, mountKey, appendMount); err != nil {
			return err
		}
	}
	return appendOps(w, podPtr("/spec/volumes"), orig.Spec.Volumes, after.Spec.Volumes,
		func(v volumeFields) string { return v.Name }, func(v corev1.Volume) string { return v.Name }, appendVolume)
}

func envName(e corev1.EnvVar) string       { return e.Name }
func mountKey(m corev1.VolumeMount) string { return m.Name + " " + m.MountPath }

// appendOps writes the operations adding after[len(before):] to the JSON
// array at p, each entry written by enc. The keys name an entry, to check
// that before is after's unchanged prefix.
func appendOps[B, A any](w *patchWriter, p jsonPointer, before []B, after []A, keyBefore func(B) string, keyAfter func(A) string, enc func([]byte, A) ([]byte, error)) error {
	if len(after) < len(before) {
		return fmt.Errorf("injection removed entries of %s", p)
	}
	for j := range before {
		if keyBefore(before[j]) != keyAfter(after[j]) {
			return fmt.Errorf("injection changed entry %d of %s", j, p)
		}
	}
	added := after[len(before):]
	switch {
	case len(added) == 0:
	case before == nil:
		w.begin("add", p)
		w.value()
		w.put(appendList(w.buf, added, enc))
		w.end()
	default:
		for _, v := range added {
			w.begin("add", p)
			w.key("-")
			w.value()
			w.put(enc(w.buf, v))
			w.end()
		}
	}
	return nil
}
