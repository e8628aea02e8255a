package nccl

import (
	"context"
	"net/netip"
	"time"
)

// WaitOwn polls read (a port's GID table) until ip's RoCE v2 GID is in it —
// the kernel adds a macvlan's GIDs asynchronously after its address — and
// returns its index, or -1 when within passes first. The last read error is
// returned with -1.
func WaitOwn(ctx context.Context, read func() (Table, error), ip netip.Addr, within, every time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		t, err := read()
		if err == nil {
			if i, ok := Own(t, ip); ok {
				return i, nil
			}
		}
		select {
		case <-ctx.Done():
			return -1, err
		case <-time.After(every):
		}
	}
}
