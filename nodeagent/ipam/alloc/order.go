package alloc

import (
	"crypto/sha256"
	"encoding/binary"
	"iter"
	"net/netip"

	"github.com/railnet/railnet/api/ippool"
)

// candidates yields the pool's usable addresses starting at a point derived
// from key (pod UID + interface) and wrapping around. Agents allocating at
// once start at different places, so they rarely race for one address, and a
// retried request starts where it started before.
func candidates(usable ippool.Set, key string) iter.Seq[netip.Addr] {
	return func(yield func(netip.Addr) bool) {
		n := usable.Count()
		if n == 0 {
			return
		}
		sum := sha256.Sum256([]byte(key))
		start := binary.BigEndian.Uint64(sum[:8]) % n
		for i := uint64(0); i < n; i++ {
			a, ok := usable.Nth((start + i) % n)
			if !ok || !yield(a) {
				return
			}
		}
	}
}
