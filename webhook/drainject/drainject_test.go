package drainject

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/railnet/railnet/api/networks"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

func smc(name, mode string) *spiderv2beta1.SpiderMultusConfig {
	s := &spiderv2beta1.SpiderMultusConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "spiderpool", Name: name,
		Annotations: map[string]string{spiderv2beta1.AnnotationRDMAResourceInject: "rdma-network"}}}
	if mode != "" {
		s.Annotations[ModeAnnotation] = mode
	}
	return s
}

func TestGroupIsDRA(t *testing.T) {
	tests := []struct {
		name    string
		members []*spiderv2beta1.SpiderMultusConfig
		want    bool
		wantErr string
	}{
		{"no annotation: device-plugin mode", []*spiderv2beta1.SpiderMultusConfig{smc("gpu1-macvlan", ""), smc("gpu2-macvlan", "")}, false, ""},
		{"every member in DRA mode", []*spiderv2beta1.SpiderMultusConfig{smc("gpu1-macvlan", ModeDRA), smc("gpu2-macvlan", ModeDRA)}, true, ""},
		{"explicit device-plugin", []*spiderv2beta1.SpiderMultusConfig{smc("gpu1-macvlan", ModeDevicePlugin)}, false, ""},
		{"mixed group refused naming both sides", []*spiderv2beta1.SpiderMultusConfig{smc("gpu1-macvlan", ModeDRA), smc("gpu2-macvlan", "")}, false,
			`inject group "rdma-network" mixes modes: spiderpool/gpu1-macvlan in DRA mode, spiderpool/gpu2-macvlan not; annotate every member railnet.io/inject-mode=dra, or none`},
		{"unknown mode refused naming the member", []*spiderv2beta1.SpiderMultusConfig{smc("gpu1-macvlan", "DRA ")}, false,
			`SpiderMultusConfig spiderpool/gpu1-macvlan of inject group "rdma-network": annotation railnet.io/inject-mode="DRA "; use "dra" or "device-plugin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := GroupIsDRA(tt.members, "rdma-network")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("GroupIsDRA = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

var opts = Options{GPUResource: "nvidia.com/gpu", Network: networks.Ref{Namespace: "railnet", Name: "railnet-dra"}}

func pod(annotations map[string]string, gpus ...int64) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "train", GenerateName: "trainer-", Annotations: annotations}}
	for i, g := range gpus {
		c := corev1.Container{Name: "c" + string(rune('0'+i)), Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1")}}}
		if g > 0 {
			c.Resources.Limits["nvidia.com/gpu"] = *resource.NewQuantity(g, resource.DecimalSI)
			c.Resources.Requests = corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(g, resource.DecimalSI)}
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	return p
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name         string
		pod          *corev1.Pod
		wantTemplate string
		wantNetworks string
		wantClaimsIn []string // containers that use the claim
		wantErr      string
	}{
		{"2 GPUs: the 2-pair template, the DRA network", pod(nil, 2), "railnet-rdma-network-2",
			`[{"name":"railnet-dra","namespace":"railnet"}]`, []string{"c0"}, ""},
		{"GPUs of two containers add up; a CPU sidecar keeps none", pod(nil, 2, 0, 1), "railnet-rdma-network-3",
			`[{"name":"railnet-dra","namespace":"railnet"}]`, []string{"c0", "c2"}, ""},
		{"the pod's own networks are kept", pod(map[string]string{networks.Annotation: "other/storage-net"}, 1), "railnet-rdma-network-1",
			`[{"name":"storage-net","namespace":"other"},{"name":"railnet-dra","namespace":"railnet"}]`, []string{"c0"}, ""},
		{"no GPU: refused", pod(nil, 0), "", "", nil,
			`pod train/trainer-*: inject group "rdma-network" is in DRA mode, where rails follow GPUs, and no container asks for nvidia.com/gpu`},
		{"malformed networks: refused", pod(map[string]string{networks.Annotation: "[{"}, 1), "", "", nil,
			"pod train/trainer-*: annotation k8s.v1.cni.cncf.io/networks is not a JSON list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.pod.DeepCopy()
			out, tpl, changed, err := Plan(tt.pod, "rdma-network", opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !changed || tpl != tt.wantTemplate {
				t.Fatalf("Plan = template %q, changed %v, %v; want %q", tpl, changed, err, tt.wantTemplate)
			}
			if len(out.Spec.ResourceClaims) != 1 || *out.Spec.ResourceClaims[0].ResourceClaimTemplateName != tt.wantTemplate {
				t.Errorf("pod claims %+v", out.Spec.ResourceClaims)
			}
			var users []string
			for _, c := range out.Spec.Containers {
				if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
					t.Errorf("container %s keeps its nvidia.com/gpu limit", c.Name)
				}
				if _, ok := c.Resources.Requests["nvidia.com/gpu"]; ok {
					t.Errorf("container %s keeps its nvidia.com/gpu request", c.Name)
				}
				if len(c.Resources.Claims) == 1 && c.Resources.Claims[0].Name == ClaimName {
					users = append(users, c.Name)
				}
			}
			if strings.Join(users, ",") != strings.Join(tt.wantClaimsIn, ",") {
				t.Errorf("containers using the claim %v, want %v", users, tt.wantClaimsIn)
			}
			if got := out.Annotations[networks.Annotation]; got != tt.wantNetworks {
				t.Errorf("networks %s, want %s", got, tt.wantNetworks)
			}
			if before.Spec.Containers[0].Resources.Limits.Name("nvidia.com/gpu", resource.DecimalSI).Cmp(*tt.pod.Spec.Containers[0].Resources.Limits.Name("nvidia.com/gpu", resource.DecimalSI)) != 0 {
				t.Error("Plan changed its input pod")
			}
			// Idempotent: a planned pod is left as it is.
			again, _, changed, err := Plan(out, "rdma-network", opts)
			if err != nil || changed || again != out {
				t.Errorf("second Plan: changed %v, %v", changed, err)
			}
		})
	}
}
