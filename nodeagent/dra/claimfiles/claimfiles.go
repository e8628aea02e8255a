package claimfiles

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/railnet/railnet/api/railsdra"
)

// PreparedRail is one rail a claim got on this node.
type PreparedRail struct {
	// Request is the claim's request (or subrequest) the rail answers.
	Request string `json:"request"`
	// Device is the slice's device name (rail-<index>).
	Device string `json:"device"`
	Rail   int32  `json:"rail"`
	Netdev string `json:"netdev"`
	// RDMADevice is the NIC's RDMA device (mlx5_0).
	RDMADevice string `json:"rdmaDevice,omitempty"`
	// ShareID tells two allocations of the same NIC apart (consumable
	// capacity); empty when the device was allocated whole.
	ShareID string `json:"shareID,omitempty"`
	// CharDevices are the NIC's /dev/infiniband nodes.
	CharDevices []string `json:"charDevices,omitempty"`
}

// PreparedClaim is what NodePrepareResources learned about a claim: the file
// the CNI reads to create the claimed rails.
type PreparedClaim struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Pods are the UIDs of the pods the claim is reserved for: the CNI,
	// called with K8S_POD_UID, finds its pod's rails by them.
	Pods  []string       `json:"pods,omitempty"`
	Rails []PreparedRail `json:"rails"` // rail order
}

// Dir is the driver's claims folder under the kubelet's root folder (in
// its plugin data folder): one file per prepared claim (ClaimFile) and the
// pods' network files under net/ (NetworkFile).
func Dir(kubeletRoot string) string {
	return filepath.Join(kubeletRoot, "plugins", railsdra.DriverName, "claims")
}

// ClaimFile is where a prepared claim's rails are written for the CNI.
func ClaimFile(kubeletRoot, claimUID string) string {
	return filepath.Join(Dir(kubeletRoot), claimUID+".json")
}

// RailsForPod returns the rails the claims reserved for pod (its UID) got
// on this node, in rail order, each rail once (two claims of one pod on one
// rail share its interface).
func RailsForPod(claims []PreparedClaim, podUID string) []PreparedRail {
	seen := map[int32]bool{}
	var out []PreparedRail
	for _, c := range claims {
		mine := false
		for _, p := range c.Pods {
			mine = mine || p == podUID
		}
		if !mine {
			continue
		}
		for _, r := range c.Rails {
			if !seen[r.Rail] {
				seen[r.Rail] = true
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rail < out[j].Rail })
	return out
}

// InterfaceName is the pod interface of a rail: net<rail+1>, as in
// device-plugin mode where rail i is the group's (i+1)th network.
func InterfaceName(rail int32) string { return fmt.Sprintf("net%d", rail+1) }

// ReadClaimFiles reads the prepared claims in dir (the driver's claims
// folder); a file that is not a prepared claim is an error naming it.
func ReadClaimFiles(dir string) ([]PreparedClaim, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []PreparedClaim
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if os.IsNotExist(err) {
			continue // unprepared meanwhile
		}
		if err != nil {
			return nil, err
		}
		var pc PreparedClaim
		if err := json.Unmarshal(b, &pc); err != nil {
			return nil, fmt.Errorf("claim file %s: %w", filepath.Join(dir, e.Name()), err)
		}
		out = append(out, pc)
	}
	return out, nil
}

// PodNetwork is what railnet-dra-cni made for a pod: per rail, its
// interface, written to NetworkFile for the agent to publish into the
// claims' status.devices.
type PodNetwork struct {
	PodUID string                `json:"podUID"`
	Rails  map[int32]NetworkData `json:"rails"`
}

// NetworkData is a rail interface's network data, with the fields and JSON
// names of resource.k8s.io/v1 NetworkDeviceData (KEP-4817), which the agent
// publishes it as.
type NetworkData struct {
	InterfaceName   string   `json:"interfaceName,omitempty"`
	IPs             []string `json:"ips,omitempty"`
	HardwareAddress string   `json:"hardwareAddress,omitempty"`
}

// NetworkFile is where railnet-dra-cni records a pod's rail interfaces.
func NetworkFile(claimsDir, podUID string) string {
	return filepath.Join(claimsDir, "net", podUID+".json")
}

// ReadNetworkFiles reads the pods' network files under claimsDir, by pod
// UID; unreadable files are skipped (a pod being set up or torn down).
func ReadNetworkFiles(claimsDir string) map[string]PodNetwork {
	out := map[string]PodNetwork{}
	entries, _ := os.ReadDir(filepath.Join(claimsDir, "net"))
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(claimsDir, "net", e.Name()))
		var pn PodNetwork
		if err != nil || json.Unmarshal(b, &pn) != nil || pn.PodUID == "" {
			continue
		}
		out[pn.PodUID] = pn
	}
	return out
}
