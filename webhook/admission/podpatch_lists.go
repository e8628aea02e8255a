package admission

import (
	"fmt"
	"strconv"

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

// listOps appends the operations for the entries injection appended to
// the pod's lists.
func listOps(ops []patchOp, orig *podFields, after *corev1.Pod) ([]patchOp, error) {
	var err error
	for i, c := range orig.Spec.Containers {
		if i >= len(after.Spec.Containers) {
			break
		}
		a := &after.Spec.Containers[i]
		base := "/spec/containers/" + strconv.Itoa(i)
		if ops, err = appendOps(ops, base+"/env", c.Env, a.Env, envName, envName); err != nil {
			return nil, err
		}
		if ops, err = appendOps(ops, base+"/volumeMounts", c.VolumeMounts, a.VolumeMounts, mountKey, mountKey); err != nil {
			return nil, err
		}
	}
	return appendOps(ops, "/spec/volumes", orig.Spec.Volumes, after.Spec.Volumes,
		func(v volumeFields) string { return v.Name }, func(v corev1.Volume) string { return v.Name })
}

func envName(e corev1.EnvVar) string       { return e.Name }
func mountKey(m corev1.VolumeMount) string { return m.Name + " " + m.MountPath }

// appendOps adds after[len(before):] to the JSON array at path. The keys
// name an entry, to check that before is after's unchanged prefix.
func appendOps[B, A any](ops []patchOp, path string, before []B, after []A, keyBefore func(B) string, keyAfter func(A) string) ([]patchOp, error) {
	if len(after) < len(before) {
		return nil, fmt.Errorf("injection removed entries of %s", path)
	}
	for j := range before {
		if keyBefore(before[j]) != keyAfter(after[j]) {
			return nil, fmt.Errorf("injection changed entry %d of %s", j, path)
		}
	}
	added := after[len(before):]
	switch {
	case len(added) == 0:
	case before == nil:
		ops = append(ops, patchOp{Op: "add", Path: path, Value: added})
	default:
		for _, v := range added {
			ops = append(ops, patchOp{Op: "add", Path: path + "/-", Value: v})
		}
	}
	return ops, nil
}
