package periodic

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A failed pass does not stop the job; the job runs until its context ends
// and then returns.
func TestEveryRunsUntilCancelledThroughFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runs int
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, time.Millisecond, "test job", func(context.Context) ([]string, error) {
			runs++
			switch runs {
			case 1:
				return nil, errors.New("API server away")
			case 2:
				return []string{"gone-1"}, nil
			case 3:
				cancel()
			}
			return nil, nil
		})
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // hang guard only
		t.Fatal("Every did not return after its context ended")
	}
	if runs != 3 {
		t.Fatalf("passes run: %d, want 3 (a failure must not stop the job, the end of the context must)", runs)
	}
}
