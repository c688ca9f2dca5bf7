package backup

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// TestSortedPairs sorts keys that the 16-byte prefixes order alone, keys
// that differ only after them, and keys with zero bytes, which padding
// must not confuse with shorter keys, on one goroutine and on two.
func TestSortedPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	key := func() string {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = "\x00\x01ab\xff"[r.IntN(5)]
		}
		if r.IntN(2) == 0 {
			return "a shared prefix!" + string(b)
		}
		return string(b)
	}
	for _, n := range []int{0, 1, 2, 100, parallelSort + 3} {
		m := make(map[string]engine.Entry, n)
		for len(m) < n {
			m[key()] = engine.Entry{V: []byte{1}}
		}
		ps, order := sortedPairs(m)
		got := make([]string, len(order))
		for j, i := range order {
			got[j] = ps[i].k
		}
		if want := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
			t.Fatalf("%d keys: sorted wrong", n)
		}
	}
}
