package backup

import "github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"

// parallelFill is the number of entries from which a dict's map is filled
// by a goroutine of its own: below it, the goroutine costs more than the
// overlap saves.
const parallelFill = 1 << 14

// Batches of entries handed to the goroutine of a filler: how many entries
// each holds, and how many may be in flight, so that reading runs ahead
// while the goroutine allocates the map.
const (
	fillBatch   = 512
	fillBatches = 32
)

// filler inserts the entries handed to it into a map, in a goroutine of
// its own, so that filling the map of a large dict, which waits on cache
// misses, overlaps reading and checking its entries.
type filler struct {
	m     map[string]engine.Entry
	full  chan []pair   // batches to insert
	free  chan []pair   // batches inserted, to be filled again
	made  int           // batches allocated
	batch []pair        // the batch being gathered
	done  chan struct{} // closed when every batch is inserted
}

// newFiller starts filling a map sized for n entries. Call wait once done
// adding, also after a failure, to stop its goroutine.
func newFiller(n int) *filler {
	f := &filler{
		full: make(chan []pair, fillBatches),
		free: make(chan []pair, fillBatches),
		done: make(chan struct{}),
	}
	f.batch = f.next()
	go f.run(n)
	return f
}

// run inserts the batches into a new map until full is closed.
func (f *filler) run(n int) {
	defer close(f.done)
	f.m = make(map[string]engine.Entry, n)
	for b := range f.full {
		for _, p := range b {
			f.m[p.k] = p.e
		}
		f.free <- b[:0]
	}
}

// add hands the entry of key k to the map.
func (f *filler) add(k string, e engine.Entry) {
	f.batch = append(f.batch, pair{k, e})
	if len(f.batch) == cap(f.batch) {
		f.full <- f.batch
		f.batch = f.next()
	}
}

// next returns an empty batch: one inserted already, or a new one while
// fewer than fillBatches exist.
func (f *filler) next() []pair {
	select {
	case b := <-f.free:
		return b
	default:
	}
	if f.made < fillBatches {
		f.made++
		return make([]pair, 0, fillBatch)
	}
	return <-f.free
}

// wait returns the map once the goroutine has inserted every entry added.
func (f *filler) wait() map[string]engine.Entry {
	if len(f.batch) > 0 {
		f.full <- f.batch
		f.batch = nil
	}
	close(f.full)
	<-f.done
	return f.m
}
