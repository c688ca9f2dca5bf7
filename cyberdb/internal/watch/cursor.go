package watch

import "github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"

// cursor is the progress of one Read over a table's history.
type cursor struct {
	q       Query          // with defaults set
	started bool           // whether the position of From 0 was settled
	pos     uint64         // the position reached: a whole revision
	lsn     uint64         // the highest LSN up to pos
	out     []engine.Event // the events selected up to pos
	size    int            // the sum of Size over out
}

// start settles where c starts: From 0 means the current revision of t.
func (c *cursor) start(t *history) {
	c.started = true
	if c.q.From == 0 {
		c.pos, c.lsn = t.last(), t.lsn
	}
}

// moved reports whether c has a position to return other than q.From.
func (c *cursor) moved() bool { return c.q.From == 0 || c.pos != c.q.From }

// reserve sizes c.out for a read of every key with n events left to
// examine, to spare its growth; an event has a Size of 64 or more.
func (c *cursor) reserve(n int) {
	if c.out == nil && c.q.Key == "" && n > 0 {
		c.out = make([]engine.Event, 0, min(n, c.q.Max, 1+c.q.MaxBytes/64))
	}
}

// full reports whether c may take no more events.
func (c *cursor) full() bool { return len(c.out) >= c.q.Max || c.size >= c.q.MaxBytes }

// take examines the revision that starts at index i of r and adds the
// events q selects, unless they would overfill a batch that already holds
// some; it returns the index after the revision and whether c took it.
func (c *cursor) take(r *ring, i int) (int, bool) {
	n, size, lsn, rev := len(c.out), c.size, c.lsn, r.at(i).Rev
	for ; i < r.n && r.at(i).Rev == rev; i++ {
		ev := r.at(i)
		lsn = max(lsn, ev.LSN)
		if c.q.match(ev) {
			c.out = append(c.out, *ev)
			size += ev.Size()
		}
	}
	if n > 0 && (len(c.out) > c.q.Max || size > c.q.MaxBytes) {
		clear(c.out[n:])
		c.out = c.out[:n]
		return i, false
	}
	c.size, c.lsn, c.pos = size, lsn, rev
	return i, true
}
