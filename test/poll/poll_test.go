package poll

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestWaitReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	err := Wait(context.Background(), time.Minute, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Wait = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestWaitGivesTheLastError(t *testing.T) {
	errNotYet := errors.New("rail 3 still up")
	err := Wait(context.Background(), 30*time.Millisecond, func() error { return errNotYet })
	if !errors.Is(err, errNotYet) || !strings.Contains(err.Error(), "rail 3 still up (still so after 30ms)") {
		t.Fatalf("Wait = %v", err)
	}
}

func TestWaitStopsOnFinal(t *testing.T) {
	exited := errors.New("kubelet exited")
	calls := 0
	err := Wait(context.Background(), time.Hour, func() error { calls++; return Final(exited) })
	if !errors.Is(err, exited) || err.Error() != "kubelet exited" || calls != 1 {
		t.Fatalf("Wait = %v after %d calls, want the final error after 1", err, calls)
	}
}

func TestWaitStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Wait(ctx, time.Hour, func() error {
		if calls++; calls == 2 {
			cancel()
		}
		return errors.New("not yet")
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not yet") {
		t.Fatalf("Wait = %v", err)
	}
}

type recorder struct{ failed string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestUntilFailsWithTheLastState(t *testing.T) {
	r := &recorder{}
	Until(r, 20*time.Millisecond, func() error { return errors.New("pod p phase Pending") })
	if !strings.HasPrefix(r.failed, "pod p phase Pending (still so after 20ms)") {
		t.Fatalf("Until failed with %q", r.failed)
	}
	r = &recorder{}
	Until(r, time.Minute, func() error { return nil })
	if r.failed != "" {
		t.Fatalf("Until failed with %q for a condition that holds", r.failed)
	}
}

func TestTrue(t *testing.T) {
	up := false
	cond := True("rail 3 up", func() bool { return up })
	if err := cond(); err == nil || err.Error() != "not yet: rail 3 up" {
		t.Fatalf("false condition: %v", err)
	}
	up = true
	if err := cond(); err != nil {
		t.Fatalf("true condition: %v", err)
	}
}
