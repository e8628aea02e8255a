package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
)

func TestRailLists(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c1.json"), []byte(`{"uid":"c1","pods":["pod-1"],"rails":[{"rail":3,"netdev":"eth3"},{"rail":1,"netdev":"eth1"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rail := func(n string) string {
		return `{"cniVersion":"1.0.0","name":"r` + n + `","plugins":[{"type":"macvlan","master":"eth` + n + `"}]}`
	}
	full := `{"cniVersion":"1.0.0","name":"cluster","type":"railnet-dra-cni","claimsDir":"` + dir + `","rails":{"1":` + rail("1") + `,"3":` + rail("3") + `}}`
	partial := `{"cniVersion":"1.0.0","name":"cluster","type":"railnet-dra-cni","claimsDir":"` + dir + `","rails":{"1":` + rail("1") + `}}`
	tests := []struct {
		name, stdin, args string
		wantIfs           []string
		wantErr           string
	}{
		{"the pod's rails in rail order, CNI_ARGS passed on", full, "IgnoreUnknown=1;K8S_POD_UID=pod-1", []string{"net2", "net4"}, ""},
		{"another pod has no rails", full, "K8S_POD_UID=pod-2", nil, ""},
		{"no pod UID", full, "IgnoreUnknown=1", nil, "CNI_ARGS has no K8S_POD_UID"},
		{"a claimed rail without configuration", partial, "K8S_POD_UID=pod-1", nil,
			`pod pod-1 claimed rail 3 (eth3), and network "cluster" has no configuration for rail 3; add it under "rails"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := &skel.CmdArgs{ContainerID: "c", Netns: "/var/run/netns/x", StdinData: []byte(tt.stdin), Args: tt.args}
			c, err := load(args)
			if err != nil {
				t.Fatal(err)
			}
			lists, rts, err := railLists(c, args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ifs []string
			for i, rt := range rts {
				ifs = append(ifs, rt.IfName)
				if len(rt.Args) != len(strings.Split(tt.args, ";")) {
					t.Errorf("%s: runtime args %v, want CNI_ARGS %q passed on", rt.IfName, rt.Args, tt.args)
				}
				if lists[i].Name != "r"+map[string]string{"net2": "1", "net4": "3"}[rt.IfName] {
					t.Errorf("%s runs list %s", rt.IfName, lists[i].Name)
				}
			}
			if strings.Join(ifs, ",") != strings.Join(tt.wantIfs, ",") {
				t.Errorf("interfaces %v, want %v", ifs, tt.wantIfs)
			}
		})
	}
}
