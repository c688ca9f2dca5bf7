package watch_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// set returns a set event of key at rev.
func set(rev uint64, key string) engine.Event {
	return engine.Event{Rev: rev, Type: engine.EventSet, Table: "t", Key: key, Value: []byte{0x01}}
}

// clearEv returns a clear event, which has no key, at rev.
func clearEv(rev uint64) engine.Event {
	return engine.Event{Rev: rev, Type: engine.EventClear, Table: "t"}
}

// sizeOf returns ev.Size().
func sizeOf(ev engine.Event) int { return ev.Size() }

// withLSN returns ev with its LSN set.
func withLSN(ev engine.Event, lsn uint64) engine.Event {
	ev.LSN = lsn
	return ev
}

// publish publishes each revision of evs in its own call.
func publish(h *watch.Hub, table string, evs ...engine.Event) {
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].Rev == evs[i].Rev {
			j++
		}
		h.Publish(table, evs[i:j:j])
		i = j
	}
}

// summary renders evs as "rev:key" items (a keyless event as "rev:-").
func summary(evs []engine.Event) string {
	s := make([]string, len(evs))
	for i, ev := range evs {
		k := ev.Key
		if k == "" {
			k = "-"
		}
		s[i] = fmt.Sprintf("%d:%s", ev.Rev, k)
	}
	return strings.Join(s, " ")
}

// mustRead reads q from h, failing t on an error.
func mustRead(t testing.TB, h *watch.Hub, q watch.Query) watch.Batch {
	t.Helper()
	b, err := h.Read(context.Background(), q)
	if err != nil {
		t.Fatalf("Read(%+v): %v", q, err)
	}
	return b
}

// result is what a Read returned.
type result struct {
	b   watch.Batch
	err error
}

// readAsync starts Read(ctx, q) and returns where its result will arrive.
func readAsync(ctx context.Context, h *watch.Hub, q watch.Query) <-chan result {
	done := make(chan result, 1)
	go func() {
		b, err := h.Read(ctx, q)
		done <- result{b, err}
	}()
	return done
}

// await returns the result from done, failing t after 10 seconds.
func await(t testing.TB, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return")
	}
	return result{}
}

// notYet fails t if done already holds a result.
func notYet(t testing.TB, done <-chan result) {
	t.Helper()
	select {
	case r := <-done:
		t.Fatalf("Read returned early: %+v", r)
	default:
	}
}

// visibility is a fake durability: WaitVisible blocks until advance has
// made the LSN durable, and reports each LSN it is asked for.
type visibility struct {
	asked chan uint64 // every LSN WaitVisible was called with

	mu      sync.Mutex    // protects the fields below
	durable uint64        // the highest durable LSN
	changed chan struct{} // closed when durable grows
	err     error         // returned by WaitVisible when set
}

// newVisibility returns a visibility where nothing above LSN 0 is durable.
func newVisibility() *visibility {
	return &visibility{asked: make(chan uint64, 1<<16), changed: make(chan struct{})}
}

// WaitVisible is an Options.WaitVisible.
func (v *visibility) WaitVisible(ctx context.Context, lsn uint64) error {
	select {
	case v.asked <- lsn:
	default:
	}
	for {
		v.mu.Lock()
		ok, ch, err := v.durable >= lsn, v.changed, v.err
		v.mu.Unlock()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// advance makes every LSN up to lsn durable.
func (v *visibility) advance(lsn uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if lsn > v.durable {
		v.durable = lsn
		close(v.changed)
		v.changed = make(chan struct{})
	}
}

// fail makes WaitVisible return err.
func (v *visibility) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.err = err
	close(v.changed)
	v.changed = make(chan struct{})
}

// get returns the highest durable LSN.
func (v *visibility) get() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.durable
}
