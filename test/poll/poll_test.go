package poll

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestWaitReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	err := Wait(context.Background(), time.Minute, "the third call", func() error {
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
	errUp := errors.New("rail 3 still up")
	err := Wait(context.Background(), 30*time.Millisecond, "rail 3 down", func() error { return errUp })
	if want := "waiting for rail 3 down: still not so after 30ms: rail 3 still up"; !errors.Is(err, errUp) || err.Error() != want {
		t.Fatalf("Wait = %v, want %q", err, want)
	}
}

func TestWaitStopsOnFinal(t *testing.T) {
	exited := errors.New("kubelet exited")
	calls := 0
	err := Wait(context.Background(), time.Hour, "node Ready", func() error { calls++; return Final(exited) })
	if !errors.Is(err, exited) || err.Error() != "waiting for node Ready: kubelet exited" || calls != 1 {
		t.Fatalf("Wait = %v after %d calls, want the final error after 1", err, calls)
	}
}

func TestWaitStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Wait(ctx, time.Hour, "pod running", func() error {
		if calls++; calls == 2 {
			cancel()
		}
		return errors.New("phase Pending")
	})
	if want := "waiting for pod running: context canceled; last: phase Pending"; !errors.Is(err, context.Canceled) || err.Error() != want {
		t.Fatalf("Wait = %v, want %q", err, want)
	}
}

type recorder struct{ failed string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestUntil(t *testing.T) {
	r := &recorder{}
	Until(r, 20*time.Millisecond, "pod p running", True(func() bool { return false }))
	if want := "waiting for pod p running: still not so after 20ms: not yet"; r.failed != want {
		t.Fatalf("Until failed with %q, want %q", r.failed, want)
	}
	r = &recorder{}
	Until(r, time.Minute, "nothing", func() error { return nil })
	if r.failed != "" {
		t.Fatalf("Until failed with %q for a condition that holds", r.failed)
	}
}
