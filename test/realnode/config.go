package realnode

import (
	"fmt"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Paths inside a node's mount namespace; they are the usual ones, so
// everything on the node (kubelet, containerd, the agent, CNI plugins, a
// DaemonSet's hostPath volumes) finds things where it would on any node.
const (
	ContainerdSocket = "/run/containerd/containerd.sock"
	KubeletRoot      = "/var/lib/kubelet"
	CNIBinDir        = "/opt/cni/bin"
	CNIConfDir       = "/etc/cni/net.d"
	PodLogsDir       = "/var/log/pods"
)

// containerdConfig is containerd 1.6's config (version 2) for a node.
// restrict_oom_score_adj is required on this machine: it lacks
// CAP_SYS_RESOURCE, and runc fails every sandbox without it.
func containerdConfig(root string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = "/run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, root, ContainerdSocket, PauseImage, CNIBinDir, CNIConfDir)
}

// kubeletConfig is the node's KubeletConfiguration. The host has cgroup v1
// only: failCgroupV1 false and the cgroupfs driver (containerd 1.6 has no
// RuntimeConfig call, so kubelet 1.37 uses the configured driver; kubelet
// 1.38 drops that fallback and will need containerd ≥ 1.7).
func kubeletConfig(ip netip.Addr, cgroupRoot, caFile, certFile, keyFile string) ([]byte, error) {
	cfg := kubeletv1beta1.KubeletConfiguration{
		Address:            ip.String(),
		Port:               10250,
		ReadOnlyPort:       0,
		HealthzBindAddress: "127.0.0.1",
		HealthzPort:        ptr.To[int32](10248),
		TLSCertFile:        certFile,
		TLSPrivateKeyFile:  keyFile,
		Authentication: kubeletv1beta1.KubeletAuthentication{
			X509:      kubeletv1beta1.KubeletX509Authentication{ClientCAFile: caFile},
			Webhook:   kubeletv1beta1.KubeletWebhookAuthentication{Enabled: ptr.To(true)},
			Anonymous: kubeletv1beta1.KubeletAnonymousAuthentication{Enabled: ptr.To(false)},
		},
		Authorization:            kubeletv1beta1.KubeletAuthorization{Mode: kubeletv1beta1.KubeletAuthorizationModeWebhook},
		CgroupDriver:             "cgroupfs",
		CgroupRoot:               "/" + cgroupRoot,
		FailCgroupV1:             ptr.To(false),
		FailSwapOn:               ptr.To(false),
		ContainerRuntimeEndpoint: "unix://" + ContainerdSocket,
		PodLogsDir:               PodLogsDir,
		// The machine's disk and memory are shared by everything: evict
		// only when truly short, and never collect the imported images
		// (there is no registry to pull them again).
		EvictionHard: map[string]string{"memory.available": "100Mi", "nodefs.available": "1%",
			"imagefs.available": "1%", "nodefs.inodesFree": "1%"},
		ImageGCHighThresholdPercent: ptr.To[int32](100),
		ImageGCLowThresholdPercent:  ptr.To[int32](99),
		ClusterDomain:               "cluster.local",
		// Mounted ConfigMaps follow an edit within seconds (1m by default):
		// tests of live reloads wait less.
		SyncFrequency:      metav1.Duration{Duration: 10 * time.Second},
		ResolverConfig:     ptr.To("/etc/resolv.conf"),
		RotateCertificates: false,
		ServerTLSBootstrap: false,
	}
	cfg.APIVersion = kubeletv1beta1.SchemeGroupVersion.String()
	cfg.Kind = "KubeletConfiguration"
	return yaml.Marshal(cfg)
}
