package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
)

func conf(socket string) []byte {
	return []byte(`{"cniVersion":"1.0.0","name":"gpu1-macvlan","type":"macvlan","ipam":{"type":"railnet-ipam","socket":"` +
		socket + `","ippools":{"ipv4":["gpu1-net11"]}}}`)
}

const podArgs = "K8S_POD_NAMESPACE=train;K8S_POD_NAME=trainer-0;K8S_POD_UID=7d2c8f54-0000-4000-8000-000000000001"

// With no agent listening, DEL succeeds (the collector releases later) and
// ADD fails with a message that says what to check.
func TestAgentDown(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "ipam.sock") // nothing listens
	args := &skel.CmdArgs{ContainerID: "c1", Netns: "/var/run/netns/x", IfName: "net1", Args: podArgs, StdinData: conf(socket)}
	if err := cmdDel(args); err != nil {
		t.Errorf("DEL with the agent down: %v, want success", err)
	}
	err := cmdAdd(args)
	if err == nil || !strings.Contains(err.Error(), "is the railnet node agent running on this node?") {
		t.Errorf("ADD with the agent down: %v", err)
	}
}

// An agent that dies mid-call (it reads the request, then the connection
// drops): DEL still succeeds, ADD fails and says what to check.
func TestAgentDiesMidCall(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "ipam.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 4096))
			_ = c.Close()
		}
	}()
	args := &skel.CmdArgs{ContainerID: "c1", Netns: "/var/run/netns/x", IfName: "net1", Args: podArgs, StdinData: conf(socket)}
	if err := cmdDel(args); err != nil {
		t.Errorf("DEL with the agent dying mid-call: %v, want success", err)
	}
	err = cmdAdd(args)
	if err == nil || !strings.Contains(err.Error(), "went away before answering") ||
		!strings.Contains(err.Error(), "is the railnet node agent running on this node?") {
		t.Errorf("ADD with the agent dying mid-call: %v", err)
	}
}
