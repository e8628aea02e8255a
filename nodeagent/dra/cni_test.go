package dra

import (
	"reflect"
	"testing"

	resourceapi "k8s.io/api/resource/v1"

	"github.com/railnet/railnet/nodeagent/dra/claimfiles"
)

func TestClaimNetwork(t *testing.T) {
	pods := map[string]claimfiles.PodNetwork{"pod-b": {PodUID: "pod-b", Rails: map[int32]claimfiles.NetworkData{
		1: {InterfaceName: "net2", IPs: []string{"172.16.12.2/24"}, HardwareAddress: "02:00:00:00:00:02"}}}}
	want := map[int32]resourceapi.NetworkDeviceData{1: {InterfaceName: "net2", IPs: []string{"172.16.12.2/24"}, HardwareAddress: "02:00:00:00:00:02"}}
	if got := ClaimNetwork(claimfiles.PreparedClaim{Pods: []string{"pod-a", "pod-b"}}, pods); !reflect.DeepEqual(got, want) {
		t.Errorf("claim of pods a, b: %v, want pod b's net2: %v", got, want)
	}
	if got := ClaimNetwork(claimfiles.PreparedClaim{Pods: []string{"pod-a"}}, pods); got != nil {
		t.Errorf("claim of pod a: %v, want none yet", got)
	}
}
