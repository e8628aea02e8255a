package nccl

import (
	"net/netip"
)

// Env is what of NCCL's environment (or conf file) the selection reads.
type Env struct {
	// GIDIndex is NCCL_IB_GID_INDEX; negative when unset.
	GIDIndex int
	// Family is NCCL_IB_ADDR_FAMILY: 4 (AF_INET, NCCL's default) or 6.
	Family int
	// Range is NCCL_IB_ADDR_RANGE; invalid when unset.
	Range netip.Prefix
	// RoCEVersion is NCCL_IB_ROCE_VERSION_NUM (default 2).
	RoCEVersion int
}

// DefaultEnv is NCCL's defaults.
var DefaultEnv = Env{GIDIndex: -1, Family: 4, RoCEVersion: 2}

// Pick returns the GID index NCCL (2.21+) uses on a RoCE port with table t
// under env: NCCL_IB_GID_INDEX when set; else it starts at index 0 and,
// for each later index, moves to the candidate when the candidate has the
// wanted family (and range) while the current one has not, or — both of the
// wanted family — when the candidate is valid and of the wanted RoCE version
// and the current one is invalid or of another version. In effect: the
// lowest-index valid RoCE v2 GID of the wanted family and range.
func Pick(t Table, env Env) int {
	if env.GIDIndex >= 0 {
		return env.GIDIndex
	}
	if len(t) == 0 {
		return 0
	}
	cur := 0
	for cand := 1; cand < len(t); cand++ {
		g, c := t[cur], t[cand]
		inRange := !env.Range.IsValid() || (c.Family() == familyOf(env.Range) && env.Range.Contains(c.IP()))
		if c.Family() != g.Family() && c.Family() == env.Family && inRange {
			cur = cand
			continue
		}
		if c.Family() != env.Family || !c.Valid() || !inRange {
			continue
		}
		if (roceVersion(g.Type) != roceVersion(c.Type) || !g.Valid()) && roceVersion(c.Type) == env.RoCEVersion {
			cur = cand
		}
	}
	return cur
}

func familyOf(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}
