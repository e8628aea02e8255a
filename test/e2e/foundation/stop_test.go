package foundation

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/railnet/railnet/test/ground"
)

// A cluster's Stop leaves no process, no listening port and no folder.
func TestStopLeavesNothingBehind(t *testing.T) {
	c := ground.Start(t, ground.Options{NoControllerManager: true})
	pids := c.PIDs()
	if len(pids) != 3 {
		t.Fatalf("want etcd, kube-apiserver and kube-scheduler running, got %v", pids)
	}
	for name, pid := range pids {
		if !ground.Alive(pid) {
			t.Fatalf("%s (pid %d) is not running before Stop", name, pid)
		}
	}
	hostPort := strings.TrimPrefix(c.APIServerURL, "https://")

	c.Stop()

	for name, pid := range pids {
		if ground.Alive(pid) {
			t.Errorf("%s (pid %d) still runs after Stop", name, pid)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("cluster folder %s still exists after Stop (stat: %v)", c.Dir, err)
	}
	l, err := net.Listen("tcp", hostPort)
	if err != nil {
		t.Errorf("the apiserver's address %s is still taken after Stop: %v", hostPort, err)
	} else {
		l.Close()
	}
	c.Stop() // a second Stop is harmless
}
