package claimfiles

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRailsForPod(t *testing.T) {
	claims := []PreparedClaim{
		{UID: "c1", Pods: []string{"pod-a"}, Rails: []PreparedRail{{Rail: 3, Netdev: "eth3"}, {Rail: 1, Netdev: "eth1"}}},
		{UID: "c2", Pods: []string{"pod-b", "pod-a"}, Rails: []PreparedRail{{Rail: 1, Netdev: "eth1"}, {Rail: 5, Netdev: "eth5"}}},
		{UID: "c3", Pods: []string{"pod-c"}, Rails: []PreparedRail{{Rail: 0, Netdev: "eth0"}}},
	}
	tests := []struct {
		pod  string
		want []int32
	}{
		{"pod-a", []int32{1, 3, 5}},
		{"pod-b", []int32{1, 5}},
		{"pod-z", nil},
	}
	for _, tt := range tests {
		var got []int32
		for _, r := range RailsForPod(claims, tt.pod) {
			got = append(got, r.Rail)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: rails %v, want %v", tt.pod, got, tt.want)
		}
	}
	if InterfaceName(0) != "net1" || InterfaceName(7) != "net8" {
		t.Errorf("interface names %s, %s", InterfaceName(0), InterfaceName(7))
	}
}

func TestReadClaimFiles(t *testing.T) {
	dir := t.TempDir()
	if pcs, err := ReadClaimFiles(filepath.Join(dir, "absent")); err != nil || pcs != nil {
		t.Fatalf("absent folder: %v, %v", pcs, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c1.json"), []byte(`{"uid":"c1","pods":["p"],"rails":[{"rail":2,"netdev":"eth2"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c1.json.tmp"), []byte(`half`), 0o644); err != nil {
		t.Fatal(err)
	}
	pcs, err := ReadClaimFiles(dir)
	if err != nil || len(pcs) != 1 || pcs[0].Rails[0].Netdev != "eth2" {
		t.Fatalf("claims %+v, %v", pcs, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadClaimFiles(dir); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a broken claim file: %v, want an error naming it", err)
	}
}

func TestNetworkFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, "net", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pod-b.json", `{"podUID":"pod-b","rails":{"1":{"interfaceName":"net2","ips":["172.16.12.2/24"],"hardwareAddress":"02:00:00:00:00:02"}}}`)
	write("half.json", `{"podUID":`)
	pods := ReadNetworkFiles(dir)
	want := map[string]PodNetwork{"pod-b": {PodUID: "pod-b", Rails: map[int32]NetworkData{
		1: {InterfaceName: "net2", IPs: []string{"172.16.12.2/24"}, HardwareAddress: "02:00:00:00:00:02"}}}}
	if !reflect.DeepEqual(pods, want) {
		t.Fatalf("network files %+v, want pod-b's only: %+v", pods, want)
	}
	if NetworkFile(dir, "pod-b") != filepath.Join(dir, "net", "pod-b.json") {
		t.Errorf("NetworkFile = %s", NetworkFile(dir, "pod-b"))
	}
	if got, want := ClaimFile("/var/lib/kubelet", "c1"), "/var/lib/kubelet/plugins/rails.railnet.io/claims/c1.json"; got != want {
		t.Errorf("ClaimFile = %s, want %s", got, want)
	}
}
