package periodic

import (
	"cmp"
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
)

// Pass is one run of a job. It returns what it removed (logged when not
// empty); an error is logged and the job runs again at the next interval.
type Pass func(ctx context.Context) (removed []string, err error)

// Every runs pass at once and then every interval (a minute when zero)
// until ctx ends; job names it in the log.
func Every(ctx context.Context, interval time.Duration, job string, pass Pass) {
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if removed, err := pass(ctx); err != nil {
			klog.FromContext(ctx).Error(err, job+" failed")
		} else if len(removed) > 0 {
			klog.FromContext(ctx).Info(job+" removed what is gone", "removed", removed)
		}
	}, cmp.Or(interval, time.Minute))
}
