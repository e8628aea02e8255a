package service

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"
)

// Group runs a service's parts (informers, servers, loops) under one
// context: the first part that fails cancels the others, and Wait returns
// that failure. A part that stops because the context ended is no failure,
// whatever it returns as long as it is context.Canceled; a part may also
// end early with nil without stopping the others.
type Group struct {
	g   *errgroup.Group
	ctx context.Context
}

// NewGroup returns a Group and the context its parts run under: ctx,
// cancelled as well when a part fails.
func NewGroup(ctx context.Context) (*Group, context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	return &Group{g: g, ctx: gctx}, gctx
}

// Go starts the part name: run(ctx) with the group's context, whose logger
// carries "part"=name. A failure is returned by Wait as "name: err".
func (g *Group) Go(name string, run func(ctx context.Context) error) {
	ctx := klog.NewContext(g.ctx, klog.FromContext(g.ctx).WithValues("part", name))
	g.g.Go(func() error {
		err := run(ctx)
		if err == nil || (ctx.Err() != nil && errors.Is(err, context.Canceled)) {
			return nil // done, or stopped with the others
		}
		return fmt.Errorf("%s: %w", name, err)
	})
}

// Wait waits for every part and returns the first failure, nil when they
// all stopped cleanly.
func (g *Group) Wait() error { return g.g.Wait() }
