package poll

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TB is the part of testing.TB that Until uses; *testing.T, *testing.B and
// the test ground's TB satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Until calls cond until it returns nil. When within has passed, or cond
// returns a Final error, it fails tb with what and cond's last error.
func Until(tb TB, within time.Duration, what string, cond func() error) {
	tb.Helper()
	if err := Wait(context.Background(), within, what, cond); err != nil {
		tb.Fatalf("%v", err)
	}
}

// Wait calls cond until it returns nil, and returns nil then. When within
// has passed or ctx ends it returns an error naming what, with cond's last
// error; when cond returns an error made with Final, that error at once. It
// calls cond at once, then after 10 ms, doubling the pause up to 250 ms.
func Wait(ctx context.Context, within time.Duration, what string, cond func() error) error {
	deadline := time.Now().Add(within)
	pause := 10 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if f, ok := errors.AsType[final](err); ok {
			return fmt.Errorf("waiting for %s: %w", what, f.err)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("waiting for %s: still not so after %s: %w", what, within, err)
		}
		t := time.NewTimer(min(pause, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for %s: %w; last: %w", what, ctx.Err(), err)
		case <-t.C:
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// True adapts a yes/no condition; its error while cond is false is "not
// yet".
func True(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}
}

var errNotYet = errors.New("not yet")

// Final marks err as an answer that waiting cannot change (a process that
// exited, say): Wait returns it, and Until fails with it, at once.
func Final(err error) error { return final{err} }

type final struct{ err error }

func (f final) Error() string { return f.err.Error() }
func (f final) Unwrap() error { return f.err }
