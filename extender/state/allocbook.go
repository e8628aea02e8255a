package state

import (
	"maps"
	"net/netip"
	"sync"
	"unique"

	toolscache "k8s.io/client-go/tools/cache"
)

// allocBook is the store's record of the IPAllocations by pool, kept from
// the informer's events: a pool's room is worked out again after each
// change to one of its allocations, which on a busy cluster is most
// scheduling cycles, and from the book that is a count kept with the
// events and a copy of the pods holding an address, already counted — not
// a lookup per allocation in the informer's index, a parse per address
// and a sort of the holders (~26 ms for a pool of 20,000 allocations).
type allocBook struct {
	mu    sync.Mutex
	pools map[unique.Handle[string]]*poolAllocs
}

// poolAllocs are one pool's allocations, by name (the informer's key; a
// deletion hands over the object of the watch event, not the one the
// informer held), and the pods holding them.
type poolAllocs struct {
	allocs map[string]*allocation
	// holders counts the allocations each pod (by UID) holds.
	holders map[unique.Handle[string]]int32
	// usable is the usable set of the pool's spec version spec (the last
	// read's), and inUsable counts the addresses it accepts, kept with the
	// events.
	spec     string
	usable   func(netip.Addr) bool
	inUsable int64
}

// change takes old out of the book and puts obj in (either may be nil or
// not an allocation: nothing to do for it).
func (b *allocBook) change(old, obj any) {
	if d, ok := old.(toolscache.DeletedFinalStateUnknown); ok {
		old = d.Obj
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := old.(*allocation); ok {
		b.remove(a.pool, a.name())
	}
	if a, ok := obj.(*allocation); ok {
		b.remove(a.pool, a.name()) // an add for a name the book holds replaces it
		if b.pools == nil {
			b.pools = map[unique.Handle[string]]*poolAllocs{}
		}
		p := b.pools[a.pool]
		if p == nil {
			p = &poolAllocs{allocs: map[string]*allocation{}, holders: map[unique.Handle[string]]int32{}}
			b.pools[a.pool] = p
		}
		p.allocs[a.name()] = a
		p.holders[a.podUID]++
		if p.usable != nil && p.usable(a.addr) {
			p.inUsable++
		}
	}
}

// remove takes the allocation named name out of pool's records.
func (b *allocBook) remove(pool unique.Handle[string], name string) {
	p := b.pools[pool]
	if p == nil {
		return
	}
	if a, held := p.allocs[name]; held {
		delete(p.allocs, name)
		if p.holders[a.podUID]--; p.holders[a.podUID] <= 0 {
			delete(p.holders, a.podUID)
		}
		if p.usable != nil && p.usable(a.addr) {
			p.inUsable--
		}
	}
	if len(p.allocs) == 0 {
		delete(b.pools, pool)
	}
}

// read returns how many of the pool's addresses usable accepts and a copy
// of its holders (nil when the pool has no allocation). usable is the
// usable set of the pool's spec as of version spec (its UID and resource
// version): while read is handed the same version, the count is the one
// kept with the events since; another version, or "" (none known), counts
// anew.
func (b *allocBook) read(pool, spec string, usable func(netip.Addr) bool) (n int64, holders map[unique.Handle[string]]int32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pools[unique.Make(pool)]
	if p == nil {
		return 0, nil
	}
	if p.usable == nil || spec == "" || p.spec != spec {
		p.spec, p.usable, p.inUsable = spec, usable, 0
		for _, a := range p.allocs {
			if usable(a.addr) {
				p.inUsable++
			}
		}
	}
	return p.inUsable, maps.Clone(p.holders)
}
