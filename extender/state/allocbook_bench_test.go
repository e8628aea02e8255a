package state

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
	"unique"

	"github.com/railnet/railnet/api/ippool"
	"github.com/railnet/railnet/extender/state/statetest"
)

// BenchmarkPoolRoomAfterChange is what working out a pool's room again
// costs after one of its 20,000 IPAllocations changed (most scheduling
// cycles on a busy cluster): from the book kept from the informer's events
// (the count and the holders kept with each event; the two events are
// timed too) beside the way it was done
// before the book, in the same run — every address parsed from its string
// and the holders sorted — and their ratio.
func BenchmarkPoolRoomAfterChange(b *testing.B) {
	const n = 20000
	pool := statetest.Pool("p1", "10.0.0.0/16", "10.0.0.1-10.0.255.254")
	usable, err := ippool.Usable(pool)
	if err != nil {
		b.Fatal(err)
	}
	var book allocBook
	ips, uids := make([]string, n), make([]string, n)
	for i := range n {
		ips[i] = netip.AddrFrom4([4]byte{10, 0, byte(1 + i/250), byte(1 + i%250)}).String()
		uids[i] = fmt.Sprintf("pod-%d", i/8)
		a, _ := compactAllocation(ipAllocation(fmt.Sprint("a", i), "1", "p1", ips[i], uids[i]))
		book.change(nil, a)
	}
	var fromBook, parsed time.Duration
	for i := range b.N {
		// One allocation goes and another comes, as a pod leaves and the
		// next one's sandbox takes an address; then the room is read.
		j := i % n
		old, _ := compactAllocation(ipAllocation(fmt.Sprint("a", j), "1", "p1", ips[j], uids[j]))
		next, _ := compactAllocation(ipAllocation(fmt.Sprint("a", j), "2", "p1", ips[j], uids[j]))
		start := time.Now()
		book.change(old, nil)
		book.change(nil, next)
		got, holders := book.read("p1", "uid/1", usable.Contains)
		fromBook += time.Since(start)

		start = time.Now()
		var want int64
		sorted := make([]string, n)
		for i, s := range ips {
			if ip, err := netip.ParseAddr(s); err == nil && usable.Contains(ip) {
				want++
			}
			sorted[i] = uids[i]
		}
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
		parsed += time.Since(start)
		if got != want || len(holders) != len(sorted) || holders[unique.Make(uids[0])] != 8 {
			b.Fatalf("book: %d addresses, %d holders; parsed: %d, %d", got, len(holders), want, len(sorted))
		}
	}
	b.ReportMetric(float64(fromBook.Microseconds())/float64(b.N), "book-us")
	b.ReportMetric(float64(parsed.Microseconds())/float64(b.N), "parsed-us")
	fmt.Printf("pool room after a change, %d allocations: from the book %.2f ms, parsing and sorting %.2f ms (%.2fx)\n",
		n, float64(fromBook.Microseconds())/1000/float64(b.N), float64(parsed.Microseconds())/1000/float64(b.N), float64(fromBook)/float64(parsed))
}
