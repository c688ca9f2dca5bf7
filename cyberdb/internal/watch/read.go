package watch

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// scanLimit bounds the events one Read examines while holding a table's
// lock, so that a reader far behind does not stall the table's writers.
const scanLimit = 4096

// Query selects the events a Read returns.
type Query struct {
	Table string
	// Key selects the events of one key, or of the keys it prefixes if
	// Prefix is set; an empty Key selects every key. Events without a key
	// (clear, drop, list changes, create) match every Key.
	Key    string
	Prefix bool
	// From is the position to read after: 0 (now) or a Batch.Rev of an
	// earlier Read of the same table. Because 0 means now, position 0
	// itself cannot be asked for.
	From uint64
	// Max caps the events returned (default DefaultReadMax) and MaxBytes
	// their sum of Event.Size (default DefaultReadMaxBytes). A batch never
	// splits a revision, so one whose events exceed the caps is returned
	// whole when it comes first.
	Max      int
	MaxBytes int
	// Wait is how long Read waits for a matching event; 0 returns at once.
	Wait time.Duration
}

// exact reports whether q selects one key.
func (q *Query) exact() bool { return q.Key != "" && !q.Prefix }

// match reports whether q selects ev.
func (q *Query) match(ev *engine.Event) bool {
	switch {
	case ev.Key == "" || q.Key == "":
		return true
	case q.Prefix:
		return strings.HasPrefix(ev.Key, q.Key)
	}
	return ev.Key == q.Key
}

// setDefaults fills in the zero fields of q.
func (q *Query) setDefaults() {
	if q.Max <= 0 {
		q.Max = DefaultReadMax
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = DefaultReadMaxBytes
	}
}

// Batch is the result of a Read.
type Batch struct {
	// Events are the selected events, in order, with whole revisions.
	Events []engine.Event
	// Rev is the position to read after next time: the revision of the
	// last event examined, which may be past the last event returned.
	Rev uint64
}

// Read returns the events of q.Table after position q.From that q selects;
// From 0 skips the past, reading after the current revision. If none
// are found it waits up to q.Wait for some, holding no lock, and returns an
// empty batch if none come (whose Rev may still have advanced past events
// q does not select). A position older than the history is a
// *CompactedError and one that is not in it a *LostError. With
// Options.WaitVisible, Read also waits until the events examined are
// durable. If ctx ends first, Read returns ctx.Err().
func (h *Hub) Read(ctx context.Context, q Query) (Batch, error) {
	q.setDefaults()
	t := h.table(q.Table)
	c := &cursor{q: q, pos: q.From}
	var w waiter
	defer w.stop()
	for {
		wake, more, err := t.read(c)
		switch {
		case err != nil && !c.moved():
			return Batch{}, err
		case err != nil || len(c.out) > 0 || !more && wake == nil:
			return h.finish(ctx, c)
		case more:
			continue
		}
		if err := w.wait(ctx, q.Wait, wake); err != nil {
			t.leave(&c.q, wake)
			return h.finishWait(ctx, c, err)
		}
	}
}

// finishWait ends a Read whose wait ended with err: errTimeout returns what
// was found, anything else is returned.
func (h *Hub) finishWait(ctx context.Context, c *cursor, err error) (Batch, error) {
	if !errors.Is(err, errTimeout) {
		return Batch{}, err
	}
	return h.finish(ctx, c)
}

// finish waits until what c examined is visible and returns its batch.
func (h *Hub) finish(ctx context.Context, c *cursor) (Batch, error) {
	if h.waitVisible != nil && (len(c.out) > 0 || c.pos != c.q.From) {
		if err := h.waitVisible(ctx, c.lsn); err != nil {
			return Batch{}, err
		}
	}
	return Batch{Events: c.out, Rev: c.pos}, nil
}

// read advances c over t's history under t.mu. When c found nothing and
// reached the end, it registers c for a wakeup if c.q.Wait allows one; more
// reports that events are left to examine.
func (t *history) read(c *cursor) (wake <-chan struct{}, more bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !c.started {
		c.start(t)
	}
	i, err := t.find(c.pos)
	if err != nil {
		return nil, false, err
	}
	c.reserve(t.events.n - i)
	more = t.scan(c, i)
	if len(c.out) == 0 && !more && c.q.Wait > 0 {
		wake = t.signalFor(&c.q)
	}
	return wake, more, nil
}

// scan moves c over the events from index i on, a revision at a time, until
// c is full, scanLimit events were examined or none are left; it reports
// whether events are left.
func (t *history) scan(c *cursor, i int) bool {
	for seen := 0; i < t.events.n; {
		if c.full() || seen >= scanLimit {
			return true
		}
		j, ok := c.take(&t.events, i)
		if !ok {
			return true
		}
		seen, i = seen+j-i, j
	}
	return false
}
