package watch

import "github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"

// minRing is the smallest capacity a ring allocates.
const minRing = 16

// ring is a FIFO queue of events in a circular buffer whose capacity is a
// power of two; it grows by doubling and shrinks by halving. It is not safe
// for concurrent use.
type ring struct {
	buf  []engine.Event
	head int // index in buf of the oldest event
	n    int // number of events
}

// at returns the i-th oldest event, for 0 <= i < r.n.
func (r *ring) at(i int) *engine.Event {
	return &r.buf[(r.head+i)&(len(r.buf)-1)]
}

// push appends a copy of ev.
func (r *ring) push(ev *engine.Event) {
	if r.n == len(r.buf) {
		r.resize(max(minRing, 2*len(r.buf)))
	}
	r.n++
	*r.at(r.n - 1) = *ev
}

// pop removes the oldest event, clearing its slot for the collector.
func (r *ring) pop() {
	r.buf[r.head] = engine.Event{}
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
}

// shrink halves the buffer when at most a quarter of it is used.
func (r *ring) shrink() {
	if len(r.buf) > minRing && r.n <= len(r.buf)/4 {
		r.resize(len(r.buf) / 2)
	}
}

// resize moves the events to a new buffer of the given capacity.
func (r *ring) resize(size int) {
	buf := make([]engine.Event, size)
	for i := range r.n {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

// search returns the index of the first event whose revision is above rev,
// or r.n if there is none; revisions must be non-decreasing.
func (r *ring) search(rev uint64) int {
	lo, hi := 0, r.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.at(mid).Rev > rev {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
