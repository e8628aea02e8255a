package nodeagent

import (
	"testing"

	"github.com/railnet/railnet/test/ground"
)

var cluster *ground.Cluster

func TestMain(m *testing.M) {
	ground.RunMain(m, ground.Options{NoControllerManager: true, RunAs: []string{"node-agent"}}, &cluster)
}
