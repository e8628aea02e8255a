package webhook

import (
	"testing"

	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/railnet/railnet/test/ground"
)

var cluster *ground.Cluster

func TestMain(m *testing.M) {
	ctrllog.SetLogger(klog.Background()) // the in-process cache of the benchmark logs through it
	ground.RunMain(m, ground.Options{}, &cluster)
}
