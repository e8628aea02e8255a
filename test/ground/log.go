package ground

import (
	"sync"

	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

var logOnce sync.Once

// setControllerRuntimeLogger routes controller-runtime's logs (the test
// ground's client, and any manager a test runs) to klog, once per process.
func setControllerRuntimeLogger() {
	logOnce.Do(func() { ctrllog.SetLogger(klog.NewKlogr()) })
}
