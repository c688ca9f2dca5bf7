package watch

import "github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"

// signal is a channel that the next change of a table closes, and the
// number of readers waiting on it. Its owner's lock protects it.
type signal struct {
	ch chan struct{} // nil while nobody waits
	n  int           // readers waiting on ch
}

// wait registers one more reader and returns the channel it waits on.
func (s *signal) wait() <-chan struct{} {
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	s.n++
	return s.ch
}

// fire wakes every reader waiting on s.
func (s *signal) fire() {
	if s.ch != nil {
		close(s.ch)
		s.ch, s.n = nil, 0
	}
}

// leave unregisters a reader of ch that stopped waiting before a wakeup,
// and reports whether nobody waits on s any more.
func (s *signal) leave(ch <-chan struct{}) bool {
	if s.ch != nil && s.ch == ch {
		s.n--
		if s.n == 0 {
			s.ch = nil
		}
	}
	return s.ch == nil
}

// signalFor registers a reader of q and returns the channel that the next
// change that may interest it closes: readers of one key wait apart from
// the others, so that writes of other keys do not wake them.
func (t *history) signalFor(q *Query) <-chan struct{} {
	if !q.exact() {
		return t.all.wait()
	}
	s := t.keys[q.Key]
	if s == nil {
		if t.keys == nil {
			t.keys = make(map[string]*signal)
		}
		s = &signal{}
		t.keys[q.Key] = s
	}
	return s.wait()
}

// leave unregisters a reader of q that stopped waiting on ch without being
// woken (its wait timed out or was cancelled).
func (t *history) leave(q *Query, ch <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !q.exact() {
		t.all.leave(ch)
	} else if s := t.keys[q.Key]; s != nil && s.leave(ch) {
		delete(t.keys, q.Key)
	}
}

// notify wakes the readers that evs may interest: every reader of all keys
// or a prefix, and the readers of the keys of evs (of every key if one of
// evs has no key).
func (t *history) notify(evs []engine.Event) {
	t.all.fire()
	for i := 0; i < len(evs) && len(t.keys) > 0; i++ {
		k := evs[i].Key
		if k == "" {
			t.wakeKeys()
			return
		}
		if s := t.keys[k]; s != nil {
			s.fire()
			delete(t.keys, k)
		}
	}
}

// wakeAll wakes every reader of t.
func (t *history) wakeAll() {
	t.all.fire()
	t.wakeKeys()
}

// wakeKeys wakes every reader of one key.
func (t *history) wakeKeys() {
	for k, s := range t.keys {
		s.fire()
		delete(t.keys, k)
	}
}
