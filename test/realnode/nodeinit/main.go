// Command nodeinit is process 1 of a real test node: the test ground starts
// it in a new mount and PID namespace, it gives the node its private folders
// (the kubelet's, containerd's, the CNI folders, /run, /var/log,
// /dev/infiniband) and then only reaps orphans until it is killed. The node's
// processes (containerd, kubelet, the railnet agent) are started by the ground
// with nsenter into its namespaces; when nodeinit dies, the kernel kills every
// process of its PID namespace and the node's mounts go with its mount
// namespace, so a node leaves nothing behind however the test ends.
//
//	nodeinit --bind /var/lib/kubelet=/tmp/node1/kubelet --tmpfs /run --chardev /dev/infiniband/uverbs0=231:192
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
)

func main() {
	var binds, tmpfs, chardevs listFlag
	flag.Var(&binds, "bind", "TARGET=SOURCE: bind-mount the host folder SOURCE at TARGET (repeatable)")
	flag.Var(&tmpfs, "tmpfs", "TARGET: mount an empty tmpfs at TARGET (repeatable)")
	flag.Var(&chardevs, "chardev", "PATH=MAJOR:MINOR: create a character device node (repeatable)")
	ready := flag.String("ready", "", "file to create once the mounts are in place")
	flag.Parse()
	if err := setup(binds, tmpfs, chardevs); err != nil {
		fmt.Fprintln(os.Stderr, "nodeinit:", err)
		os.Exit(1)
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "nodeinit:", err)
			os.Exit(1)
		}
	}
	reap()
}
