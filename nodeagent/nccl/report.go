package nccl

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Explain says, per rail of a pod, which GID NCCL will use with the pod's
// conf file and whether it is the pod's own address: what an operator asks
// when a job hangs. tables are the ports' current GID tables.
func Explain(rails []Rail, vars [][2]string, tables map[Port]Table) string {
	var b strings.Builder
	env := EnvOf(vars)
	for _, r := range rails {
		fmt.Fprintf(&b, "%s: %s port %d, pod address %s, own RoCE v2 GID: %s\n", r.Interface, r.HCA, r.Port, r.IP, indexWord(r.GIDIndex))
		t, ok := tables[Port{HCA: r.HCA, Port: r.Port}]
		if !ok {
			b.WriteString("  GID table unreadable\n")
			continue
		}
		i := Pick(t, env)
		if i >= len(t) || !t[i].Valid() {
			fmt.Fprintf(&b, "  NCCL uses GID %d: empty — NCCL cannot connect on this rail\n", i)
			continue
		}
		g := t[i]
		verdict := "the pod's own address"
		if g.IP().String() != r.IP || roceVersion(g.Type) != env.RoCEVersion {
			verdict = "NOT the pod's own address (the host's or another pod's): traffic breaks when that address goes; restart the pod"
		}
		fmt.Fprintf(&b, "  NCCL uses GID %d = %s (%s, %s): %s\n", i, g.IP(), typeWord(g.Type), g.Ndev, verdict)
	}
	return b.String()
}

func typeWord(t string) string {
	if t == "" {
		return "type unreadable"
	}
	return t
}

// Load reads a pod's folder (rails and conf file variables).
func Load(dir, podUID string) ([]Rail, [][2]string, error) {
	if !uidRE.MatchString(podUID) {
		return nil, nil, fmt.Errorf("%q is not a pod UID", podUID)
	}
	rails, err := readRails(filepath.Join(dir, podUID, "rails"))
	if err != nil {
		return nil, nil, err
	}
	if len(rails) == 0 {
		return nil, nil, fmt.Errorf("no NCCL rails recorded for pod %s in %s: the pod has no RDMA rail on this node, or it runs on another node", podUID, dir)
	}
	conf, err := os.ReadFile(filepath.Join(dir, podUID, ConfFile))
	if err != nil {
		return nil, nil, err
	}
	var vars [][2]string
	s := bufio.NewScanner(bytes.NewReader(conf))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars = append(vars, [2]string{k, v})
		}
	}
	return Plan(rails, "").Rails, vars, nil
}
