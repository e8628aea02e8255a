package alloc

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
)

// memoFor is how long a pod's IPAllocations, listed live for one of its
// interfaces, stand in for a live list for its other interfaces: long enough
// for a pod's networks, which Multus adds one after the other, short enough
// that a record removed by someone else (the collector frees only pods gone
// for its grace, or a person) is not trusted for long.
const memoFor = 10 * time.Second

// podMemo remembers, per pod UID, the pod's IPAllocations as last listed
// live plus what this allocator wrote for it since, so the interfaces of one
// pod cost one live List together instead of one each. One request of a pod
// runs at a time (podEntry.held), so two ADDs of one interface cannot both see
// it without an address and take two.
type podMemo struct {
	mu   sync.Mutex
	pods map[string]*podEntry
	// now is time.Now unless a test sets it.
	now func() time.Time
}

// podEntry is one pod's memo. held has a token while a request works on
// the pod; allocs and listed belong to that request.
type podEntry struct {
	held   chan struct{}
	users  int // requests holding or waiting for held; guarded by podMemo.mu
	allocs []railnetv1.IPAllocation
	listed time.Time // when allocs was listed live; zero: not known
}

// memoValid reports whether a pod's allocations listed live at listed may
// still stand in for a live list at now.
func memoValid(listed, now time.Time) bool {
	return !listed.IsZero() && !now.Before(listed) && now.Sub(listed) < memoFor
}

// writeEffect is what a write's outcome does to the pod's memo.
type writeEffect int

const (
	// written: the write happened; the memo follows it.
	written writeEffect = iota
	// refused: the API server refused it and nothing changed (a Create of
	// an address already recorded).
	refused
	// unknown: the write may or may not have happened (a timeout, a lost
	// connection) or the memo was stale (a conflict); the pod's
	// allocations must be listed live again.
	unknown
)

// effectOf classes the error of a Create, Update or Delete of one of the
// pod's IPAllocations; deleting says it was a Delete, for which NotFound
// is the wanted outcome.
func effectOf(err error, deleting bool) writeEffect {
	switch {
	case err == nil:
		return written
	case deleting && apierrors.IsNotFound(err):
		return written
	case !deleting && apierrors.IsAlreadyExists(err):
		return refused
	default:
		return unknown
	}
}

// acquire returns the pod's memo entry, held: the caller has the pod to
// itself until release. It gives up when ctx ends first. Entries nobody
// holds whose list is no longer valid are dropped on the way.
func (m *podMemo) acquire(ctx context.Context, uid string) (*podEntry, error) {
	m.mu.Lock()
	if m.pods == nil {
		m.pods = map[string]*podEntry{}
	}
	now := m.clock()
	for k, e := range m.pods {
		if e.users == 0 && !memoValid(e.listed, now) {
			delete(m.pods, k)
		}
	}
	e := m.pods[uid]
	if e == nil {
		e = &podEntry{held: make(chan struct{}, 1)}
		m.pods[uid] = e
	}
	e.users++
	m.mu.Unlock()
	select {
	case e.held <- struct{}{}:
		return e, nil
	case <-ctx.Done():
		m.leave(e)
		return nil, fmt.Errorf("wait for the other request of pod UID %s: %w", uid, context.Cause(ctx))
	}
}

// release hands the pod back.
func (m *podMemo) release(e *podEntry) {
	<-e.held
	m.leave(e)
}

func (m *podMemo) leave(e *podEntry) {
	m.mu.Lock()
	e.users--
	m.mu.Unlock()
}

func (m *podMemo) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// known returns the pod's allocations when the memo may stand in for a
// live list at now.
func (e *podEntry) known(now time.Time) ([]railnetv1.IPAllocation, bool) {
	if !memoValid(e.listed, now) {
		return nil, false
	}
	return e.allocs, true
}

// remember stores what a live List returned at listed.
func (e *podEntry) remember(allocs []railnetv1.IPAllocation, listed time.Time) {
	e.allocs, e.listed = allocs, listed
}

// forget makes the next request list the pod's allocations live.
func (e *podEntry) forget() {
	e.allocs, e.listed = nil, time.Time{}
}

// wrote applies the outcome of writing obj (created or updated, or deleted
// when deleting) to the memo.
func (e *podEntry) wrote(obj *railnetv1.IPAllocation, err error, deleting bool) {
	switch effectOf(err, deleting) {
	case refused:
		return
	case unknown:
		e.forget()
		return
	}
	if e.listed.IsZero() {
		return // nothing known to keep up to date
	}
	kept := e.allocs[:0:0]
	for _, a := range e.allocs {
		if a.Name != obj.Name {
			kept = append(kept, a)
		}
	}
	if !deleting {
		kept = append(kept, *obj.DeepCopy())
	}
	e.allocs = kept
}
