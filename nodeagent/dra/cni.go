package dra

import (
	"encoding/json"
	"fmt"
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
