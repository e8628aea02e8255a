package inject

import (
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/injectgroup"
)

// What injection adds to the RDMA container so that NCCL reads the conf file
// the node agent writes for the pod after CNI ADD (nodeagent/nccl): the
// agent's folder of the pod, mounted read-only, and NCCL_CONF_FILE pointing
// into it.
const (
	// DefaultNCCLDir is the node agent's default --nccl-dir.
	DefaultNCCLDir = injectgroup.DefaultNCCLDir
	// NCCLVolume is the name of the injected hostPath volume.
	NCCLVolume = "railnet-nccl"
	// NCCLMountPath is where the container sees its own folder.
	NCCLMountPath = "/run/railnet/nccl"
	// NCCLConfFile is the conf file's path inside the container.
	NCCLConfFile = NCCLMountPath + "/nccl.conf"
	// EnvPodUID carries the pod's UID (downward API), which names the pod's
	// folder on the node: the mount's subPathExpr expands it.
	EnvPodUID = "RAILNET_POD_UID"
	// EnvConfFile and EnvSocketIfName are NCCL's.
	EnvConfFile     = "NCCL_CONF_FILE"
	EnvSocketIfName = "NCCL_SOCKET_IFNAME"
	// SocketIfName: NCCL bootstraps over the pod's cluster interface, never
	// a rail ("=": exactly this name, not a prefix).
	SocketIfName = "=eth0"
)

// ncclOwnEnv are the NCCL variables the conf file sets; a container that
// sets one in its environment overrides the conf file (NCCL reads the conf
// file only for variables the environment lacks), which the summary says.
var ncclOwnEnv = []string{"NCCL_IB_HCA", "NCCL_IB_GID_INDEX", EnvSocketIfName, EnvConfFile}

// ReadsEnv reports whether AddNCCL reads a container's env entries of this
// name: railnet's own and the NCCL variables its conf file sets. Nothing
// else in a container's environment changes what AddNCCL does.
func ReadsEnv(name string) bool { return name == EnvPodUID || slices.Contains(ncclOwnEnv, name) }

// NCCLResult says what AddNCCL did to the RDMA container.
type NCCLResult struct {
	// ConfFile is the conf file's path in the container; empty when the
	// pod's folder is not mounted (Skipped says why).
	ConfFile string
	// Skipped, when not empty, says why the conf file is not mounted and
	// what to do.
	Skipped string
	// Kept are the NCCL variables the container sets itself, in
	// ncclOwnEnv's order: railnet never overrides them, and its conf file's
	// values for them do not apply.
	Kept []string
}

// AddNCCL gives container (the one that got the RDMA resources) of pod the
// node agent's NCCL folder of this pod: a hostPath volume of dir (the
// agent's --nccl-dir) mounted read-only at NCCLMountPath with subPathExpr
// $(RAILNET_POD_UID), so the container sees only its own folder; env
// RAILNET_POD_UID (metadata.uid), NCCL_CONF_FILE and NCCL_SOCKET_IFNAME
// unless the container sets them. NCCL_IB_HCA and NCCL_IB_GID_INDEX are
// never put in the environment: the conf file carries them, and the
// environment would win over it for good. It only appends volumes, mounts
// and env entries, never changes one the pod has, and changes nothing when
// run again on its own output.
func AddNCCL(pod *corev1.Pod, container, dir string) NCCLResult {
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == container })
	if i < 0 {
		return NCCLResult{}
	}
	c := &pod.Spec.Containers[i]
	var res NCCLResult
	for _, name := range ncclOwnEnv {
		if hasEnv(c, name) && !(name == EnvConfFile && envValue(c, name) == NCCLConfFile) && !(name == EnvSocketIfName && envValue(c, name) == SocketIfName) {
			res.Kept = append(res.Kept, name)
		}
	}
	if reason := ncclConflict(pod, c, dir); reason != "" {
		res.Skipped = reason
		return res
	}
	// What the pod gets is allocated at once: the volume's source and the
	// UID entry's source share one allocation, the env entries another.
	parts := &ncclParts{typ: corev1.HostPathDirectoryOrCreate, ref: corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.uid"}}
	parts.hostPath = corev1.HostPathVolumeSource{Path: dir, Type: &parts.typ}
	parts.uid = corev1.EnvVarSource{FieldRef: &parts.ref}
	if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == NCCLVolume }) {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: NCCLVolume,
			VolumeSource: corev1.VolumeSource{HostPath: &parts.hostPath}})
	}
	need := 0
	for _, name := range [...]string{EnvPodUID, EnvConfFile, EnvSocketIfName} {
		if !hasEnv(c, name) {
			need++
		}
	}
	c.Env = slices.Grow(c.Env, need)
	if !hasEnv(c, EnvPodUID) {
		c.Env = append(c.Env, corev1.EnvVar{Name: EnvPodUID, ValueFrom: &parts.uid})
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == NCCLVolume }) {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: NCCLVolume, MountPath: NCCLMountPath,
			ReadOnly: true, SubPathExpr: "$(" + EnvPodUID + ")"})
	}
	if !hasEnv(c, EnvConfFile) {
		c.Env = append(c.Env, corev1.EnvVar{Name: EnvConfFile, Value: NCCLConfFile})
	}
	if !hasEnv(c, EnvSocketIfName) {
		c.Env = append(c.Env, corev1.EnvVar{Name: EnvSocketIfName, Value: SocketIfName})
	}
	res.ConfFile = NCCLConfFile
	return res
}

// ncclParts holds what AddNCCL points to from a pod, in one allocation.
type ncclParts struct {
	typ      corev1.HostPathType
	hostPath corev1.HostPathVolumeSource
	ref      corev1.ObjectFieldSelector
	uid      corev1.EnvVarSource
}

// ncclConflict says why the pod's folder cannot be mounted as railnet
// would (names taken by the pod for something else), "" when it can.
func ncclConflict(pod *corev1.Pod, c *corev1.Container, dir string) string {
	if !path.IsAbs(dir) {
		return "podResourceInject.ncclDir " + strconv.Quote(dir) + " is not an absolute path; set it to the node agent's --nccl-dir"
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == NCCLVolume && (v.HostPath == nil || path.Clean(v.HostPath.Path) != path.Clean(dir)) {
			return "the pod has its own volume " + NCCLVolume + "; rename it to let railnet mount the pod's NCCL folder"
		}
	}
	for _, m := range c.VolumeMounts {
		if m.Name == NCCLVolume {
			if m.MountPath != NCCLMountPath || m.SubPathExpr != "$("+EnvPodUID+")" {
				return "container " + c.Name + " mounts volume " + NCCLVolume + " elsewhere; remove that mount"
			}
			continue
		}
		if path.Clean(m.MountPath) == NCCLMountPath {
			return "container " + c.Name + " mounts volume " + m.Name + " at " + NCCLMountPath + "; move that mount"
		}
	}
	for _, e := range c.Env {
		if e.Name == EnvPodUID && (e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.uid") {
			return "container " + c.Name + " sets " + EnvPodUID + " itself; remove it"
		}
	}
	return ""
}

func hasEnv(c *corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// writeNCCLSummary writes the NCCL part of the injection summary.
func writeNCCLSummary(b *strings.Builder, r *NCCLResult) {
	if r == nil {
		return
	}
	if r.ConfFile != "" {
		b.WriteString("; NCCL conf file ")
		b.WriteString(r.ConfFile)
	} else if r.Skipped != "" {
		b.WriteString("; no NCCL conf file: ")
		b.WriteString(r.Skipped)
	}
	if len(r.Kept) > 0 {
		b.WriteString("; kept the container's own ")
		for i, k := range r.Kept {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
		}
		b.WriteString(" (the environment overrides railnet's NCCL conf file; remove them to use it)")
	}
}
