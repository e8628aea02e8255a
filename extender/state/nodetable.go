package state

import (
	"math"
	"slices"
	"sync"

	"github.com/railnet/railnet/extender/placement"
)

// SlotsFollower is a Store that says which nodes' bound slots changed
// since a generation (Slots.Since), so a decider can keep every candidate
// node's slots across requests instead of looking each one up by name.
type SlotsFollower interface {
	// SlotsSince calls changed with every node whose bound slots changed
	// after generation gen and its use now, and returns the current
	// generation; ok false: the changes since gen are not known, read
	// every node anew (changed is not called).
	SlotsSince(gen uint64, changed func(node string, use placement.Amounts)) (now uint64, ok bool)
}

// nodeTable keeps, for the scheduler's last candidate list, each node's
// entry (placement.NodeRef), bound slots and last verdict and score:
// kube-scheduler sends the same node names in the same order on every
// cycle, and a filter request for that list then fills its NodeStates
// without looking a node up by name, and decides again only about nodes
// whose facts or slots changed (placement.FilterKept, ScoreKept, with a
// VerdictMemo and a ScoreMemo per row). The
// states it fills are those Store.FillNodes fills.
type nodeTable struct {
	mu sync.Mutex
	// names is the list the table was built for; index finds a name's row.
	// usable is false when the list names a node twice.
	names  []string
	index  map[string]int
	usable bool
	// epoch counts the builds, so a prioritize request knows whether the
	// rows its filter request passed are still this table's.
	epoch uint64
	// refs[i] is names[i]'s entry; nil when the store had none.
	refs []*placement.NodeRef
	// slots[i] is names[i]'s bound use as of generation gen, valid when
	// known[i] (a node unknown to the store has no use filled).
	slots []placement.Amounts
	known []bool
	gen   uint64
	// verdicts[i] and scores[i] remember names[i]'s last.
	verdicts []placement.VerdictMemo
	scores   []placement.ScoreMemo
	// spare and spareRows are the states and rows of a finished cycle
	// (putBack), which the next filter request fills again instead of
	// allocating thousands of NodeStates per request.
	spare     []placement.NodeState
	spareRows []int
	// sparePassed and spareScores are answers the handler has written
	// (Decider.Recycle), which the next request's answer fills again.
	sparePassed []string
	spareScores []placement.HostScore
}

// filter fills the NodeStates of names (with, for the nodes inflight
// names, SlotsInFlight) and decides about them with decide, handing it the
// rows' kept verdicts and a spare Passed list to fill (nil: none); it
// returns the states and the table's epoch. ok false when the store cannot
// be followed or names names a node twice (the caller fills and decides
// then).
func (t *nodeTable) filter(s Store, names []string, inflight map[string]placement.Amounts,
	decide func(nodes []placement.NodeState, kept func(i int) *placement.VerdictMemo, passed []string) placement.Result,
) (res placement.Result, nodes []placement.NodeState, epoch uint64, ok bool) {
	src, ok := s.(SlotsFollower)
	if !ok {
		return res, nil, 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	nodes, ok = t.states(s, src, names, inflight)
	if !ok {
		return res, nil, 0, false
	}
	return decide(nodes, func(i int) *placement.VerdictMemo { return &t.verdicts[i] }, takeSpare(&t.sparePassed)), nodes, t.epoch, true
}

// score scores with do, handing it the kept scores of rows (the rows of
// do's nodes) when the table is still of epoch (not 0), else none, and
// spare scores to fill (nil: none).
func (t *nodeTable) score(epoch uint64, rows []int,
	do func(kept func(i int) *placement.ScoreMemo, out []placement.HostScore) []placement.HostScore,
) []placement.HostScore {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := takeSpare(&t.spareScores)
	if epoch != t.epoch {
		return do(nil, out)
	}
	return do(func(i int) *placement.ScoreMemo { return &t.scores[rows[i]] }, out)
}

// recycle takes back a filter answer's passed nodes and a prioritize
// answer's scores (either nil) once nothing reads them.
func (t *nodeTable) recycle(passed []string, scores []placement.HostScore) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keepSpare(&t.sparePassed, passed)
	keepSpare(&t.spareScores, scores)
}

// takeSpare returns *spare, which is nil then until handed back.
func takeSpare[T any](spare *[]T) []T {
	s := *spare
	*spare = nil
	return s
}

// keepSpare keeps s, emptied, as *spare when it has more room.
func keepSpare[T any](spare *[]T, s []T) {
	if cap(s) > cap(*spare) {
		*spare = s[:0]
	}
}

// states returns the NodeStates of names as the store and the in-flight
// view would fill them; t.mu is held.
func (t *nodeTable) states(s Store, src SlotsFollower, names []string, inflight map[string]placement.Amounts) ([]placement.NodeState, bool) {
	if !slices.Equal(t.names, names) {
		t.build(s, src, names)
	} else if gen, ok := src.SlotsSince(t.gen, t.changed); ok {
		t.gen = gen
	} else {
		t.refill(s, src)
	}
	if !t.usable {
		return nil, false
	}
	out := takeSpare(&t.spare)[:0]
	if cap(out) < len(names) {
		out = make([]placement.NodeState, 0, len(names))
	}
	out = out[:len(names)]
	for i, name := range names {
		out[i] = placement.NodeState{Name: name} // a spare's element holds an earlier request's state
		f := t.refs[i].Facts()
		if f == nil {
			// Gone, unknown when the table was built, or added again
			// with a new entry.
			if r := s.NodeRef(name); r != nil {
				t.refs[i], f = r, r.Facts()
			} else {
				f = s.NodeFacts(name)
			}
		}
		if f == nil {
			continue
		}
		out[i].Facts = f
		if !t.known[i] {
			one := []placement.NodeState{{Name: name}}
			s.FillNodes(one)
			t.slots[i], t.known[i] = one[0].SlotsBound, one[0].Facts != nil
		}
		out[i].SlotsBound = t.slots[i]
	}
	for node, use := range inflight {
		if i, ok := t.index[node]; ok && out[i].Facts != nil {
			out[i].SlotsInFlight = use
		}
	}
	return out, true
}

// rows returns an empty slice of room for n rows: the spare one when it
// has that room.
func (t *nodeTable) rows(n int) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	rows := takeSpare(&t.spareRows)[:0]
	if cap(rows) < n {
		rows = make([]int, 0, n)
	}
	return rows
}

// putBack hands the table a cycle's states and rows once nothing reads
// them any more, for the next filter request to fill.
func (t *nodeTable) putBack(nodes []placement.NodeState, rows []int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	keepSpare(&t.spare, nodes)
	keepSpare(&t.spareRows, rows)
}

// changed records a node's new bound use (SlotsSince's callback).
func (t *nodeTable) changed(node string, use placement.Amounts) {
	if i, ok := t.index[node]; ok {
		t.slots[i], t.known[i] = use, true
	}
}

// build makes the table for names.
func (t *nodeTable) build(s Store, src SlotsFollower, names []string) {
	t.names = slices.Clone(names)
	t.index = make(map[string]int, len(names))
	t.refs = make([]*placement.NodeRef, len(names))
	t.slots = make([]placement.Amounts, len(names))
	t.known = make([]bool, len(names))
	t.verdicts = make([]placement.VerdictMemo, len(names))
	t.scores = make([]placement.ScoreMemo, len(names))
	t.epoch++
	for i, name := range names {
		t.index[name] = i
		t.refs[i] = s.NodeRef(name)
	}
	t.usable = len(t.index) == len(names)
	t.refill(s, src)
}

// refill reads every node's bound use anew.
func (t *nodeTable) refill(s Store, src SlotsFollower) {
	t.gen, _ = src.SlotsSince(math.MaxUint64, nil) // before the reads: later changes are replayed
	all := make([]placement.NodeState, len(t.names))
	for i, name := range t.names {
		all[i].Name = name
	}
	s.FillNodes(all)
	for i := range all {
		t.slots[i], t.known[i] = all[i].SlotsBound, all[i].Facts != nil
	}
}
