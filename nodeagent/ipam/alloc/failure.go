package alloc

import (
	"errors"

	"github.com/railnet/railnet/nodeagent/metrics"
)

// errIncompleteRequest is a request without the pod or the interface.
var errIncompleteRequest = errors.New("ipam: the request needs the pod's namespace, name and UID and the interface name")

// noPoolError is a request whose network names no pool.
type noPoolError struct{ msg string }

func (e *noPoolError) Error() string { return e.msg }

// FailureReason classes an allocation error into one of
// metrics.FailureReasons, for the bounded reason label.
func FailureReason(err error) string {
	var ex *ExhaustedError
	var np *noPoolError
	switch {
	case errors.Is(err, errIncompleteRequest):
		return metrics.FailureBadRequest
	case errors.As(err, &np):
		return metrics.FailureNoPool
	case errors.As(err, &ex) && ex.Full:
		return metrics.FailureExhausted
	case errors.As(err, &ex):
		return metrics.FailureNoUsablePool
	default:
		return metrics.FailureAPI
	}
}
