package dra

import (
	"encoding/json"

	"fmt"
	resourceapi "k8s.io/api/resource/v1"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

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
// interface (network data as KEP-4817 has it), written to NetworkFile for
// the agent to publish into the claims' status.devices.
type PodNetwork struct {
	PodUID string                                  `json:"podUID"`
	Rails  map[int32]resourceapi.NetworkDeviceData `json:"rails"`
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

// ClaimNetwork is the network data of a claim's rails: from the network
// file of the first pod it is reserved for that has one (a claim shared by
// several pods shows one pod's interfaces: status.devices has one entry per
// device).
func ClaimNetwork(pc PreparedClaim, pods map[string]PodNetwork) map[int32]resourceapi.NetworkDeviceData {
	for _, uid := range pc.Pods {
		if pn, ok := pods[uid]; ok {
			return pn.Rails
		}
	}
	return nil
}
