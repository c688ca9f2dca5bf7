package watch_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// blocked starts a Read of q that waits up to a minute, and returns once
// it is registered for a wakeup.
func blocked(t *testing.T, ctx context.Context, h *watch.Hub, q watch.Query) <-chan result {
	t.Helper()
	n := watch.Waiting(h, q.Table)
	q.Wait = time.Minute
	done := readAsync(ctx, h, q)
	ctest.Eventually(t, 10*time.Second, "the reader to wait", func() bool { return watch.Waiting(h, q.Table) > n })
	return done
}

func TestHub_Read_WokenByPublish(t *testing.T) {
	tests := []struct {
		name string
		q    watch.Query
		evs  []engine.Event // published in one call
		want string
		rev  uint64
	}{
		{"all", watch.Query{}, []engine.Event{set(16, "x")}, "16:x", 16},
		{"key", watch.Query{Key: "a"}, []engine.Event{set(16, "a")}, "16:a", 16},
		{"key, among others", watch.Query{Key: "a"}, []engine.Event{set(16, "b"), set(16, "a")}, "16:a", 16},
		{"key, keyless event", watch.Query{Key: "a"}, []engine.Event{clearEv(16)}, "16:-", 16},
		{"prefix", watch.Query{Key: "a", Prefix: true}, []engine.Event{set(16, "ax")}, "16:ax", 16},
		{"several revisions", watch.Query{Key: "a"}, []engine.Event{set(16, "a"), set(17, "b")}, "16:a", 17},
	}
	for _, tt := range tests {
		for _, from := range []uint64{0, 15} {
			t.Run(fmt.Sprintf("%s/from=%d", tt.name, from), func(t *testing.T) {
				h := sample()
				tt.q.Table, tt.q.From = "t", from
				done := blocked(t, t.Context(), h, tt.q)
				h.Publish("t", tt.evs)
				r := await(t, done)
				if got := summary(r.b.Events); r.err != nil || got != tt.want || r.b.Rev != tt.rev {
					t.Fatalf("got %q at %d, %v; want %q at %d", got, r.b.Rev, r.err, tt.want, tt.rev)
				}
			})
		}
	}
}

func TestHub_Read_OtherKeyDoesNotWake(t *testing.T) {
	h := sample()
	done := blocked(t, t.Context(), h, watch.Query{Table: "t", Key: "a", From: 15})
	h.Publish("t", []engine.Event{set(16, "b")})
	h.Publish("u", []engine.Event{set(1, "a")})
	if n := watch.Waiting(h, "t"); n != 1 {
		t.Fatalf("%d readers wait after a write of another key, want 1", n)
	}
	notYet(t, done)
	h.Publish("t", []engine.Event{set(17, "a")})
	r := await(t, done)
	if got := summary(r.b.Events); r.err != nil || got != "17:a" || r.b.Rev != 17 {
		t.Fatalf("got %q at %d, %v", got, r.b.Rev, r.err)
	}
	if n := watch.WaitedKeys(h, "t"); n != 0 {
		t.Fatalf("%d keys still registered", n)
	}
}

func TestHub_Read_PrefixWaitsAgain(t *testing.T) {
	h := sample()
	done := blocked(t, t.Context(), h, watch.Query{Table: "t", Key: "a", Prefix: true, From: 15})
	h.Publish("t", []engine.Event{set(16, "b")}) // wakes the reader, which waits again
	ctest.Eventually(t, 10*time.Second, "the reader to wait again", func() bool { return watch.Waiting(h, "t") == 1 })
	notYet(t, done)
	h.Publish("t", []engine.Event{set(17, "ab")})
	r := await(t, done)
	if got := summary(r.b.Events); r.err != nil || got != "17:ab" || r.b.Rev != 17 {
		t.Fatalf("got %q at %d, %v", got, r.b.Rev, r.err)
	}
}

func TestHub_Read_WokenByReset(t *testing.T) {
	tests := []struct {
		name string
		key  string
		base uint64
		want error
	}{
		{"lower base", "", 12, &watch.LostError{Table: "t", From: 15, Last: 12}},
		{"higher base", "", 20, &watch.CompactedError{Table: "t", From: 15, Oldest: 20}},
		{"key, lower base", "a", 12, &watch.LostError{Table: "t", From: 15, Last: 12}},
		{"key, higher base", "a", 20, &watch.CompactedError{Table: "t", From: 15, Oldest: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sample()
			done := blocked(t, t.Context(), h, watch.Query{Table: "t", Key: tt.key, From: 15})
			h.Reset("t", tt.base)
			checkError(t, await(t, done).err, tt.want)
		})
	}
}

func TestHub_Read_ResetToPosition(t *testing.T) {
	h := sample()
	done := blocked(t, t.Context(), h, watch.Query{Table: "t", Key: "a", From: 15})
	h.Reset("t", 15) // the position survives: the reader waits again
	ctest.Eventually(t, 10*time.Second, "the reader to wait again", func() bool { return watch.Waiting(h, "t") == 1 })
	h.Publish("t", []engine.Event{set(16, "a")})
	r := await(t, done)
	if got := summary(r.b.Events); r.err != nil || got != "16:a" || r.b.Rev != 16 {
		t.Fatalf("got %q at %d, %v", got, r.b.Rev, r.err)
	}
}

func TestHub_Read_ResetAfterSkipping(t *testing.T) {
	// The reader skipped 16 before waiting: it returns that position, and
	// the next Read from it reports the loss.
	h := sample()
	h.Publish("t", []engine.Event{set(16, "b")})
	done := blocked(t, t.Context(), h, watch.Query{Table: "t", Key: "a", From: 15})
	h.Reset("t", 12)
	r := await(t, done)
	if r.err != nil || len(r.b.Events) != 0 || r.b.Rev != 16 {
		t.Fatalf("got %q at %d, %v; want nothing at 16", summary(r.b.Events), r.b.Rev, r.err)
	}
	_, err := h.Read(t.Context(), watch.Query{Table: "t", Key: "a", From: 16})
	checkError(t, err, &watch.LostError{Table: "t", From: 16, Last: 12})
}

func TestHub_Read_Cancel(t *testing.T) {
	for _, q := range []watch.Query{{Table: "t", From: 15}, {Table: "t", Key: "a", From: 15}} {
		t.Run(q.Key, func(t *testing.T) {
			h := sample()
			ctx, cancel := context.WithCancel(t.Context())
			done := blocked(t, ctx, h, q)
			cancel()
			if r := await(t, done); !errors.Is(r.err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", r.err)
			}
			if n, k := watch.Waiting(h, "t"), watch.WaitedKeys(h, "t"); n != 0 || k != 0 {
				t.Fatalf("%d readers of %d keys still registered", n, k)
			}
		})
	}
}

func TestHub_Read_Deadline(t *testing.T) {
	h := sample()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err := h.Read(ctx, watch.Query{Table: "t", From: 15, Wait: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
}

func TestHub_Read_WaitElapses(t *testing.T) {
	tests := []struct {
		name string
		q    watch.Query
		rev  uint64
	}{
		{"nothing new", watch.Query{From: 15}, 15},
		{"from now", watch.Query{}, 15},
		{"skips other keys", watch.Query{From: 13, Key: "zz"}, 15},
		{"key", watch.Query{From: 15, Key: "a"}, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sample()
			tt.q.Table, tt.q.Wait = "t", 5*time.Millisecond
			b := mustRead(t, h, tt.q)
			if len(b.Events) != 0 || b.Rev != tt.rev {
				t.Fatalf("got %q at %d, want nothing at %d", summary(b.Events), b.Rev, tt.rev)
			}
			if n, k := watch.Waiting(h, "t"), watch.WaitedKeys(h, "t"); n != 0 || k != 0 {
				t.Fatalf("%d readers of %d keys still registered", n, k)
			}
		})
	}
}

func TestHub_Read_WaitAfterWakeups(t *testing.T) {
	// Writes of unselected keys wake a prefix reader without extending its
	// wait, which ends on time with the skipped position.
	h := sample()
	done := readAsync(t.Context(), h, watch.Query{Table: "t", Key: "a", Prefix: true, From: 15, Wait: 50 * time.Millisecond})
	for r := uint64(16); ; r++ {
		h.Publish("t", []engine.Event{set(r, "b")})
		select {
		case res := <-done:
			if res.err != nil || len(res.b.Events) != 0 || res.b.Rev < 16 || res.b.Rev > r {
				t.Fatalf("got %q at %d, %v", summary(res.b.Events), res.b.Rev, res.err)
			}
			return
		case <-time.After(time.Millisecond):
		}
	}
}

func TestHub_Read_ManyChunks(t *testing.T) {
	// A reader of one key far behind skips more events than one scan takes.
	h := watch.New(watch.Options{})
	h.Reset("t", 1)
	var evs []engine.Event
	for r := uint64(2); r < 20_000; r++ {
		evs = append(evs, set(r, "b"))
	}
	h.Publish("t", evs)
	h.Publish("t", []engine.Event{set(20_000, "a")})
	b := mustRead(t, h, watch.Query{Table: "t", Key: "a", From: 1})
	if got := summary(b.Events); got != "20000:a" || b.Rev != 20_000 {
		t.Fatalf("got %q at %d", got, b.Rev)
	}
	b = mustRead(t, h, watch.Query{Table: "t", Key: "zz", From: 1})
	if len(b.Events) != 0 || b.Rev != 20_000 {
		t.Fatalf("got %q at %d", summary(b.Events), b.Rev)
	}
}
