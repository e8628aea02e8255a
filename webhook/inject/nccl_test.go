package inject

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/railnet/railnet/api/injectgroup/injectgrouptest"
)

func TestAddNCCL(t *testing.T) {
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	ours := corev1.Volume{Name: NCCLVolume, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/run/railnet/nccl", Type: &dirOrCreate}}}
	uid := corev1.EnvVar{Name: EnvPodUID, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.uid"}}}
	conf := corev1.EnvVar{Name: EnvConfFile, Value: NCCLConfFile}
	sock := corev1.EnvVar{Name: EnvSocketIfName, Value: "=eth0"}
	mount := corev1.VolumeMount{Name: NCCLVolume, MountPath: NCCLMountPath, ReadOnly: true, SubPathExpr: "$(RAILNET_POD_UID)"}
	env := func(n, v string) corev1.EnvVar { return corev1.EnvVar{Name: n, Value: v} }
	full := corev1.Container{Name: "train", Env: []corev1.EnvVar{uid, conf, sock}, VolumeMounts: []corev1.VolumeMount{mount}}

	tests := []struct {
		name       string
		container  string
		dir        string
		in         corev1.PodSpec
		want       corev1.PodSpec
		wantResult NCCLResult
	}{
		{name: "bare container gets volume, mount and env", container: "train", dir: "/run/railnet/nccl",
			in:         corev1.PodSpec{Containers: []corev1.Container{{Name: "side"}, {Name: "train"}}},
			want:       corev1.PodSpec{Volumes: []corev1.Volume{ours}, Containers: []corev1.Container{{Name: "side"}, full}},
			wantResult: NCCLResult{ConfFile: NCCLConfFile}},
		{name: "run again on its own output: unchanged", container: "train", dir: "/run/railnet/nccl",
			in:         corev1.PodSpec{Volumes: []corev1.Volume{ours}, Containers: []corev1.Container{full}},
			want:       corev1.PodSpec{Volumes: []corev1.Volume{ours}, Containers: []corev1.Container{full}},
			wantResult: NCCLResult{ConfFile: NCCLConfFile}},
		{name: "user's NCCL_IB_HCA, NCCL_IB_GID_INDEX and NCCL_SOCKET_IFNAME kept and reported", container: "train", dir: "/run/railnet/nccl",
			in: corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Env: []corev1.EnvVar{env("NCCL_IB_GID_INDEX", "3"), env("NCCL_IB_HCA", "mlx5"), env("NCCL_SOCKET_IFNAME", "bond0")}}}},
			want: corev1.PodSpec{Volumes: []corev1.Volume{ours}, Containers: []corev1.Container{{Name: "train",
				Env:          []corev1.EnvVar{env("NCCL_IB_GID_INDEX", "3"), env("NCCL_IB_HCA", "mlx5"), env("NCCL_SOCKET_IFNAME", "bond0"), uid, conf},
				VolumeMounts: []corev1.VolumeMount{mount}}}},
			wantResult: NCCLResult{ConfFile: NCCLConfFile, Kept: []string{"NCCL_IB_HCA", "NCCL_IB_GID_INDEX", "NCCL_SOCKET_IFNAME"}}},
		{name: "user's own NCCL_CONF_FILE kept", container: "train", dir: "/run/railnet/nccl",
			in: corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Env: []corev1.EnvVar{env("NCCL_CONF_FILE", "/etc/nccl.conf")}}}},
			want: corev1.PodSpec{Volumes: []corev1.Volume{ours}, Containers: []corev1.Container{{Name: "train",
				Env: []corev1.EnvVar{env("NCCL_CONF_FILE", "/etc/nccl.conf"), uid, sock}, VolumeMounts: []corev1.VolumeMount{mount}}}},
			wantResult: NCCLResult{ConfFile: NCCLConfFile, Kept: []string{"NCCL_CONF_FILE"}}},
		{name: "other dir", container: "train", dir: "/var/lib/railnet/nccl",
			in: corev1.PodSpec{Containers: []corev1.Container{{Name: "train"}}},
			want: corev1.PodSpec{Volumes: []corev1.Volume{{Name: NCCLVolume, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/railnet/nccl", Type: &dirOrCreate}}}},
				Containers: []corev1.Container{full}},
			wantResult: NCCLResult{ConfFile: NCCLConfFile}},
		{name: "pod's own volume of that name: nothing mounted", container: "train", dir: "/run/railnet/nccl",
			in:         corev1.PodSpec{Volumes: []corev1.Volume{{Name: NCCLVolume}}, Containers: []corev1.Container{{Name: "train"}}},
			want:       corev1.PodSpec{Volumes: []corev1.Volume{{Name: NCCLVolume}}, Containers: []corev1.Container{{Name: "train"}}},
			wantResult: NCCLResult{Skipped: "the pod has its own volume railnet-nccl; rename it to let railnet mount the pod's NCCL folder"}},
		{name: "another mount at the path", container: "train", dir: "/run/railnet/nccl",
			in:         corev1.PodSpec{Containers: []corev1.Container{{Name: "train", VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: "/run/railnet/nccl/"}}}}},
			want:       corev1.PodSpec{Containers: []corev1.Container{{Name: "train", VolumeMounts: []corev1.VolumeMount{{Name: "x", MountPath: "/run/railnet/nccl/"}}}}},
			wantResult: NCCLResult{Skipped: "container train mounts volume x at /run/railnet/nccl; move that mount"}},
		{name: "user's own RAILNET_POD_UID", container: "train", dir: "/run/railnet/nccl",
			in:         corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Env: []corev1.EnvVar{env(EnvPodUID, "x")}}}},
			want:       corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Env: []corev1.EnvVar{env(EnvPodUID, "x")}}}},
			wantResult: NCCLResult{Skipped: "container train sets RAILNET_POD_UID itself; remove it"}},
		{name: "relative dir in the configuration", container: "train", dir: "run/nccl",
			in:         corev1.PodSpec{Containers: []corev1.Container{{Name: "train"}}},
			want:       corev1.PodSpec{Containers: []corev1.Container{{Name: "train"}}},
			wantResult: NCCLResult{Skipped: `podResourceInject.ncclDir "run/nccl" is not an absolute path; set it to the node agent's --nccl-dir`}},
		{name: "no such container", container: "nope", dir: "/run/railnet/nccl",
			in:   corev1.PodSpec{Containers: []corev1.Container{{Name: "train"}}},
			want: corev1.PodSpec{Containers: []corev1.Container{{Name: "train"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &corev1.Pod{Spec: *tt.in.DeepCopy()}
			got := AddNCCL(p, tt.container, tt.dir)
			if !reflect.DeepEqual(got, tt.wantResult) {
				t.Errorf("result = %+v, want %+v", got, tt.wantResult)
			}
			if !reflect.DeepEqual(p.Spec, tt.want) {
				t.Errorf("spec =\n%+v\nwant\n%+v", p.Spec, tt.want)
			}
			for _, e := range p.Spec.Containers[0].Env {
				if e.Name == "NCCL_IB_GID_INDEX" || e.Name == "NCCL_IB_HCA" {
					if !strings.Contains(strings.Join(got.Kept, ","), e.Name) {
						t.Errorf("railnet set %s in the environment", e.Name)
					}
				}
			}
			again := p.DeepCopy()
			AddNCCL(again, tt.container, tt.dir)
			if !reflect.DeepEqual(again.Spec, p.Spec) {
				t.Errorf("second run changed the pod:\n%+v\n%+v", again.Spec, p.Spec)
			}
		})
	}
}

func TestPodNCCLSummary(t *testing.T) {
	p := pod(map[string]string{rdmaKey: "rdma-network"}, corev1.Container{Name: "main", Env: []corev1.EnvVar{{Name: "NCCL_IB_HCA", Value: "mlx5"}}})
	if _, err := Pod(p, nil, enabled, injectgrouptest.Seed()); err != nil {
		t.Fatal(err)
	}
	want := "on container main; NCCL conf file /run/railnet/nccl/nccl.conf; kept the container's own NCCL_IB_HCA (the environment overrides railnet's NCCL conf file; remove them to use it)"
	if got := p.Annotations[AnnotationSummary]; !strings.HasSuffix(got, want) {
		t.Errorf("summary %q\nwant it to end with %q", got, want)
	}
	off := false
	q := pod(map[string]string{rdmaKey: "rdma-network"})
	if _, err := Pod(q, nil, Config{Enabled: true, NCCLConf: &off}, injectgrouptest.Seed()); err != nil {
		t.Fatal(err)
	}
	if len(q.Spec.Volumes) > 0 || len(q.Spec.Containers[0].Env) > 0 || strings.Contains(q.Annotations[AnnotationSummary], "NCCL") {
		t.Errorf("ncclConf false still injected NCCL: %+v %q", q.Spec, q.Annotations[AnnotationSummary])
	}
}
