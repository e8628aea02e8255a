package nccl

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/railnet/railnet/api/networks"
)

// Rail is what the coordinator learned about one of the pod's rails after
// CNI ADD.
type Rail struct {
	// Interface is the pod's netdev (net1…); HCA and Port its RDMA port.
	Interface string `json:"interface"`
	HCA       string `json:"hca"`
	Port      int    `json:"port"`
	IP        string `json:"ip"`
	// GIDIndex is the index of the pod's own RoCE v2 GID on the port; -1
	// when the kernel had not added it in time.
	GIDIndex int `json:"gidIndex"`
}

// Conf is the pod's NCCL conf file and what railnet must tell the user.
type Conf struct {
	Rails []Rail
	// Vars are the conf file's NCCL_* variables, in order.
	Vars [][2]string
	// Warning is set when NCCL cannot be pointed at the pod's own GID on
	// every rail; it names each rail's index.
	Warning string
}

// Plan writes the pod's NCCL settings from its rails (any order: they are
// put in rail order, net1 before net10): NCCL_IB_HCA lists exactly their
// HCAs ("=" prefix: exact names, not prefixes), NCCL_SOCKET_IFNAME the
// cluster interface, and NCCL_IB_GID_INDEX the index of the pod's own GIDs
// when it is the same on every rail. NCCL's GID index is one number for all
// HCAs: when the rails' indices differ, no index is written (NCCL's own pick
// is then the lowest RoCE v2 GID, maybe another pod's) and Warning says so.
func Plan(rails []Rail, socketIfName string) Conf {
	rs := slices.Clone(rails)
	slices.SortFunc(rs, func(a, b Rail) int { return networks.CompareNatural(a.Interface, b.Interface) })
	c := Conf{Rails: rs}
	hcas := make([]string, 0, len(rs))
	for _, r := range rs {
		if h := r.HCA + ":" + strconv.Itoa(r.Port); !slices.Contains(hcas, h) {
			hcas = append(hcas, h)
		}
	}
	if len(hcas) > 0 {
		c.Vars = append(c.Vars, [2]string{"NCCL_IB_HCA", "=" + strings.Join(hcas, ",")})
	}
	if socketIfName != "" {
		c.Vars = append(c.Vars, [2]string{"NCCL_SOCKET_IFNAME", "=" + socketIfName})
	}
	idx, same := -1, true
	var missing, each []string
	for i, r := range rs {
		each = append(each, fmt.Sprintf("%s (%s port %d, %s): %s", r.Interface, r.HCA, r.Port, r.IP, indexWord(r.GIDIndex)))
		if r.GIDIndex < 0 {
			missing = append(missing, r.Interface)
			continue
		}
		if i == 0 || idx < 0 {
			idx = r.GIDIndex
		}
		same = same && r.GIDIndex == idx
	}
	switch {
	case len(rs) == 0:
	case len(missing) > 0:
		c.Warning = fmt.Sprintf("the kernel had not added the pod's RoCE v2 GID on %s; NCCL_IB_GID_INDEX is not set and NCCL may use another pod's GID: %s",
			strings.Join(missing, ", "), strings.Join(each, "; "))
	case !same:
		c.Warning = fmt.Sprintf("the pod's own RoCE v2 GIDs sit at different indices on its rails and NCCL takes one index for all HCAs, so NCCL_IB_GID_INDEX is not set and NCCL may use another pod's GID; restart the pod to get new addresses: %s",
			strings.Join(each, "; "))
	default:
		c.Vars = append(c.Vars, [2]string{"NCCL_IB_GID_INDEX", strconv.Itoa(idx)})
	}
	return c
}

func indexWord(i int) string {
	if i < 0 {
		return "not in the GID table"
	}
	return "GID index " + strconv.Itoa(i)
}

// Render is the conf file NCCL reads (NCCL_CONF_FILE): KEY=VALUE lines, and
// the rail map as comments for people.
func (c Conf) Render() []byte {
	var b strings.Builder
	b.WriteString("# written by railnet-coordinator for this pod; NCCL reads a variable here only when the environment does not set it\n")
	for _, r := range c.Rails {
		fmt.Fprintf(&b, "# rail %s: hca %s port %d ip %s %s\n", r.Interface, r.HCA, r.Port, r.IP, indexWord(r.GIDIndex))
	}
	if c.Warning != "" {
		b.WriteString("# warning: " + c.Warning + "\n")
	}
	for _, v := range c.Vars {
		b.WriteString(v[0] + "=" + v[1] + "\n")
	}
	return []byte(b.String())
}

// EnvOf reads the selection inputs of a conf file's variables over NCCL's
// defaults, as NCCL would (the environment first, here: none).
func EnvOf(vars [][2]string) Env {
	e := DefaultEnv
	for _, v := range vars {
		switch v[0] {
		case "NCCL_IB_GID_INDEX":
			if i, err := strconv.Atoi(v[1]); err == nil {
				e.GIDIndex = i
			}
		case "NCCL_IB_ADDR_FAMILY":
			if v[1] == "AF_INET6" {
				e.Family = 6
			}
		case "NCCL_IB_ADDR_RANGE":
			if p, err := netip.ParsePrefix(v[1]); err == nil {
				e.Range = p
			}
		case "NCCL_IB_ROCE_VERSION_NUM":
			if i, err := strconv.Atoi(v[1]); err == nil {
				e.RoCEVersion = i
			}
		}
	}
	return e
}
