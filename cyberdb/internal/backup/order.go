package backup

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"
	"sync"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// pair is a dict entry.
type pair struct {
	k string
	e engine.Entry
}

// ranked is a dict entry as sorted: the first 16 bytes of its key,
// zero-padded, and its index among the pairs. Comparing the prefixes
// settles most comparisons without reading the keys, which lie scattered
// in memory and make a sort of a large dict wait on cache misses.
type ranked struct {
	hi, lo uint64
	i      int
}

// parallelSort is the number of entries from which sortedPairs sorts the
// two halves at once, in two goroutines.
const parallelSort = 1 << 16

// sortedPairs returns the entries of m and their indexes in key order.
func sortedPairs(m map[string]engine.Entry) ([]pair, []int) {
	ps := make([]pair, 0, len(m))
	for k, v := range m {
		ps = append(ps, pair{k, v})
	}
	rs := make([]ranked, len(ps))
	if len(ps) < parallelSort {
		rank(ps, rs, 0)
		return ps, indexes(rs)
	}
	half := len(ps) / 2
	var wg sync.WaitGroup
	wg.Go(func() { rank(ps, rs[:half], 0) })
	rank(ps, rs[half:], half)
	wg.Wait()
	return ps, merge(ps, rs[:half], rs[half:])
}

// rank fills rs with the entries ps[from:from+len(rs)] and sorts it.
func rank(ps []pair, rs []ranked, from int) {
	var buf [16]byte
	for j := range rs {
		k := ps[from+j].k
		copy(buf[:], k)
		clear(buf[min(len(k), 16):])
		rs[j] = ranked{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:]), from + j}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return compare(ps, a, b) })
}

// compare orders two ranked entries of ps by key.
func compare(ps []pair, a, b ranked) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return strings.Compare(ps[a.i].k, ps[b.i].k)
}

// indexes returns the indexes of rs in order.
func indexes(rs []ranked) []int {
	order := make([]int, len(rs))
	for j, r := range rs {
		order[j] = r.i
	}
	return order
}

// merge returns the indexes of the sorted a and b in key order.
func merge(ps []pair, a, b []ranked) []int {
	order := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if compare(ps, a[0], b[0]) <= 0 {
			order, a = append(order, a[0].i), a[1:]
		} else {
			order, b = append(order, b[0].i), b[1:]
		}
	}
	for _, r := range a {
		order = append(order, r.i)
	}
	for _, r := range b {
		order = append(order, r.i)
	}
	return order
}
