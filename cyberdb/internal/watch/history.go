package watch

import (
	"cmp"
	"slices"
	"sync"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// history is the retained events of one table and its waiting readers.
type history struct {
	name   string             // the table's name; immutable
	mu     sync.Mutex         // protects every field below
	events ring               // oldest first; revisions non-decreasing and above base
	bytes  int                // the sum of Size over events
	base   uint64             // the position events follow: the revision of the last dropped event
	lsn    uint64             // the highest LSN published since the last reset
	all    signal             // readers of every key or of a prefix
	keys   map[string]*signal // readers of one key, by key
}

// last returns the current revision of t: that of its last event, or base.
func (t *history) last() uint64 {
	if t.events.n == 0 {
		return t.base
	}
	return t.events.at(t.events.n - 1).Rev
}

// publish appends evs, drops the oldest revisions beyond the caps and wakes
// the readers evs may interest.
func (t *history) publish(evs []engine.Event, maxEvents, maxBytes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.inOrder(evs) {
		slices.SortStableFunc(evs, func(a, b engine.Event) int { return cmp.Compare(a.Rev, b.Rev) })
		t.restart(evs[0].Rev - 1)
	}
	for i := range evs {
		t.events.push(&evs[i])
		t.bytes += evs[i].Size()
		t.lsn = max(t.lsn, evs[i].LSN)
	}
	t.compact(maxEvents, maxBytes)
	t.notify(evs)
}

// inOrder reports whether evs start a revision above the current one and
// their revisions do not decrease. The engine publishes them so; should
// they ever not be, the history restarts before them (see publish), so
// that readers behind are told to re-read rather than skip events.
func (t *history) inOrder(evs []engine.Event) bool {
	prev := t.last()
	for i := range evs {
		if r := evs[i].Rev; r < prev || r == prev && i == 0 {
			return false
		}
		prev = evs[i].Rev
	}
	return true
}

// compact drops the oldest revisions, whole, until t fits the caps.
func (t *history) compact(maxEvents, maxBytes int) {
	for t.events.n > maxEvents || t.bytes > maxBytes {
		t.dropOldest()
	}
	t.events.shrink()
}

// dropOldest drops every event of the oldest revision.
func (t *history) dropOldest() {
	rev := t.events.at(0).Rev
	for t.events.n > 0 && t.events.at(0).Rev == rev {
		t.bytes -= t.events.at(0).Size()
		t.events.pop()
	}
	t.base = rev
}

// reset forgets the events of t, starts its history at base and wakes its
// readers.
func (t *history) reset(base uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.restart(base)
}

// restart is reset with t's lock held.
func (t *history) restart(base uint64) {
	t.events, t.bytes, t.base, t.lsn = ring{}, 0, base, 0
	t.wakeAll()
}

// rev returns the current revision of t.
func (t *history) rev() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last()
}

// find returns the index of the first event after position pos, or the
// error saying why pos is not a position of t's history.
func (t *history) find(pos uint64) (int, error) {
	last := t.last()
	switch {
	case pos < t.base:
		return 0, &CompactedError{Table: t.name, From: pos, Oldest: t.base}
	case pos > last:
		return 0, &LostError{Table: t.name, From: pos, Last: last}
	case pos == t.base:
		return 0, nil
	}
	i := t.events.search(pos)
	if i == 0 || t.events.at(i-1).Rev != pos {
		return 0, &LostError{Table: t.name, From: pos, Last: last}
	}
	return i, nil
}
