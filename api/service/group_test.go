package service

import (
	"context"
	"errors"
	"testing"
)

// The first part to fail stops the others and is the error Wait returns,
// named; what the others return as they stop is not reported.
func TestGroupFirstFailureStopsTheRest(t *testing.T) {
	g, ctx := NewGroup(context.Background())
	failed := make(chan struct{})
	g.Go("informers", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	g.Go("server", func(ctx context.Context) error { <-ctx.Done(); return errors.New("serve: closed while stopping") })
	g.Go("loop", func(context.Context) error { defer close(failed); return errors.New("boom") })
	err := g.Wait()
	if err == nil || err.Error() != "loop: boom" {
		t.Fatalf("Wait = %v, want %q", err, "loop: boom")
	}
	<-failed
	if ctx.Err() == nil {
		t.Error("the group's context is still live after a part failed")
	}
}

func TestGroupStops(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context) error
		want string
	}{
		{"context.Canceled once stopped is a clean stop", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, ""},
		{"nil once stopped", func(ctx context.Context) error { <-ctx.Done(); return nil }, ""},
		{"a failure while stopping is reported", func(ctx context.Context) error { <-ctx.Done(); return errors.New("drain cut off") }, "part: drain cut off"},
		{"context.Canceled while running is a failure", func(context.Context) error { return context.Canceled }, "part: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			g, _ := NewGroup(ctx)
			started := make(chan struct{})
			g.Go("part", func(ctx context.Context) error { close(started); return tc.run(ctx) })
			<-started
			cancel()
			err := g.Wait()
			if got := errString(err); got != tc.want {
				t.Fatalf("Wait = %q, want %q", got, tc.want)
			}
		})
	}
}

// A part that finishes its job (e.g. waiting for a cache sync) does not stop
// the others.
func TestGroupPartMayFinish(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	g, ctx := NewGroup(parent)
	finished := make(chan struct{})
	g.Go("sync", func(context.Context) error { close(finished); return nil })
	g.Go("server", func(ctx context.Context) error { <-ctx.Done(); return nil })
	<-finished
	if ctx.Err() != nil {
		t.Fatal("a part that finished stopped the group")
	}
	cancel()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
