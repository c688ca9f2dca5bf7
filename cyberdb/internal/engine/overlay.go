package engine

import "iter"

// overlay holds the changes to a dict while a snapshot copies its map.
// While the snapshot clones the map without the table's lock, the map is
// frozen and every change goes to the overlay, which reads consult first.
// Then the snapshot moves the changes into the map a chunk per hold of the
// lock; meanwhile a change to a key first moves the key's pending change,
// then goes to the map, so the overlay only shrinks. Every access to the
// content of a dict goes through the methods below.
type overlay struct {
	newer  map[string]change // the changes not yet in the map, by key
	delta  int               // keys the dict holds beyond those of its map
	frozen bool              // the map is being cloned: changes go to newer
}

// change is the entry of a key, or its deletion when ok is false.
type change struct {
	e  Entry
	ok bool
}

// get returns the entry of k, expired or not.
func (t *table) get(k string) (Entry, bool) {
	if s := t.snap; s != nil {
		if c, ok := s.newer[k]; ok {
			return c.e, c.ok
		}
	}
	e, ok := t.dict[k]
	return e, ok
}

// size returns the number of keys.
func (t *table) size() int {
	if s := t.snap; s != nil {
		return len(t.dict) + s.delta
	}
	return len(t.dict)
}

// all yields every key and its entry, expired or not, in no order.
func (t *table) all() iter.Seq2[string, Entry] {
	return func(yield func(string, Entry) bool) {
		s := t.snap
		for k, v := range t.dict {
			if s != nil {
				if _, changed := s.newer[k]; changed {
					continue
				}
			}
			if !yield(k, v) {
				return
			}
		}
		if s == nil {
			return
		}
		for k, c := range s.newer {
			if c.ok && !yield(k, c.e) {
				return
			}
		}
	}
}

// put stores e under k.
func (t *table) put(k string, e Entry) {
	if s := t.snap; s != nil && s.frozen {
		if _, ok := t.get(k); !ok {
			s.delta++
		}
		s.newer[k] = change{e, true}
		return
	}
	t.settle(k)
	t.dict[k] = e
}

// unset deletes k.
func (t *table) unset(k string) {
	s := t.snap
	if s == nil || !s.frozen {
		t.settle(k)
		delete(t.dict, k)
		return
	}
	if _, ok := t.get(k); ok {
		s.delta--
	}
	if _, inMap := t.dict[k]; inMap {
		s.newer[k] = change{}
	} else {
		delete(s.newer, k)
	}
}

// clear empties the dict by replacing its map. A running snapshot keeps
// cloning the old map, which nothing changes any more: the overlay, whose
// changes the clear undoes, is dropped and changes go to the new map.
func (t *table) clear() {
	t.dict = make(map[string]Entry)
	t.snap = nil
	t.exps = nil
}

// settle moves the pending change of k, if any, into the map.
func (t *table) settle(k string) {
	if s := t.snap; s != nil {
		if c, ok := s.newer[k]; ok {
			t.move(s, k, c)
		}
	}
}

// merge moves up to n changes of the overlay s into the map and reports
// whether none remain.
func (t *table) merge(s *overlay, n int) bool {
	for k, c := range s.newer {
		if n--; n < 0 {
			return false
		}
		t.move(s, k, c)
	}
	return true
}

// move applies the change c of k to the map and drops it from the overlay
// s, which leaves the content of the dict as it was.
func (t *table) move(s *overlay, k string, c change) {
	before := len(t.dict)
	if c.ok {
		t.dict[k] = c.e
	} else {
		delete(t.dict, k)
	}
	s.delta -= len(t.dict) - before
	delete(s.newer, k)
}
