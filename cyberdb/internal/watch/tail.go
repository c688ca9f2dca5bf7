package watch

import "github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"

// A snapshot keeps the end of each table's history, up to the table's
// revision in the snapshot, so that the next leader can serve watches a
// little behind the snapshot instead of failing them as compacted.

// Tail returns the last events of table with revisions up to upTo, at
// most maxEvents of them and about maxBytes, whole revisions only, and
// the position they follow. It reports false when the history does not
// reach back to upTo (it starts later).
func (h *Hub) Tail(table string, upTo uint64, maxEvents, maxBytes int) (base uint64, evs []engine.Event, ok bool) {
	t := h.table(table)
	t.mu.Lock()
	defer t.mu.Unlock()
	if upTo < t.base {
		return 0, nil, false
	}
	end := t.events.search(upTo) // the events before end have revisions up to upTo
	start, size := end, 0
	for start > 0 {
		i := start - 1
		rev := t.events.at(i).Rev
		for i > 0 && t.events.at(i-1).Rev == rev {
			i--
		}
		for j := i; j < start; j++ {
			size += t.events.at(j).Size()
		}
		if end-i > maxEvents || size > maxBytes {
			break
		}
		start = i
	}
	base = t.base
	if start > 0 {
		base = t.events.at(start - 1).Rev
	}
	for i := start; i < end; i++ {
		ev := *t.events.at(i)
		ev.LSN = 0
		evs = append(evs, ev)
	}
	return base, evs, true
}

// Load replaces the history of table with evs, which follow position
// base in order (a Tail saved with a snapshot), and wakes its readers.
func (h *Hub) Load(table string, base uint64, evs []engine.Event) {
	t := h.table(table)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.restart(base)
	if len(evs) == 0 || !t.inOrder(evs) {
		return
	}
	for i := range evs {
		t.events.push(&evs[i])
		t.bytes += evs[i].Size()
	}
}
