package main

import (
	"flag"
	"fmt"

	"github.com/railnet/railnet/nodeagent/nccl"
)

// ncclEnv prints, for a pod on this node, which GID NCCL uses on each of its
// rails with the conf file railnet wrote, and whether it is the pod's own:
// kubectl -n railnet-system exec <agent pod> -- railnet-agent nccl-env --pod-uid <uid>.
func ncclEnv(args []string) error {
	fs := flag.NewFlagSet("nccl-env", flag.ContinueOnError)
	uid := fs.String("pod-uid", "", "the pod's UID (kubectl get pod <name> -o jsonpath='{.metadata.uid}')")
	dir := fs.String("nccl-dir", nccl.DefaultDir, "host folder of the pods' NCCL conf files")
	root := fs.String("sysfs-root", "/", "folder standing for / when reading /sys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rails, vars, err := nccl.Load(*dir, *uid)
	if err != nil {
		return fmt.Errorf("nccl-env: %w", err)
	}
	tables := map[nccl.Port]nccl.Table{}
	for _, r := range rails {
		p := nccl.Port{HCA: r.HCA, Port: r.Port}
		if t, err := nccl.ReadPort(*root, r.HCA, r.Port); err == nil {
			tables[p] = t
		}
	}
	fmt.Print(nccl.Explain(rails, vars, tables))
	return nil
}
