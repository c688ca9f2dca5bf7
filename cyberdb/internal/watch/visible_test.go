package watch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// visibleSample returns a hub gated by a new visibility whose table "t"
// starts at 10 and holds 11:a (LSN 5), 12:a (LSN 6), 13:b (LSN 7).
func visibleSample() (*watch.Hub, *visibility) {
	v := newVisibility()
	h := watch.New(watch.Options{WaitVisible: v.WaitVisible})
	h.Reset("t", 10)
	publish(h, "t", withLSN(set(11, "a"), 5), withLSN(set(12, "a"), 6), withLSN(set(13, "b"), 7))
	return h, v
}

// asked returns the next LSN WaitVisible was asked for.
func asked(t *testing.T, v *visibility) uint64 {
	t.Helper()
	select {
	case lsn := <-v.asked:
		return lsn
	case <-time.After(10 * time.Second):
		t.Fatal("WaitVisible was not called")
	}
	return 0
}

func TestHub_Read_WaitVisible(t *testing.T) {
	tests := []struct {
		name string
		q    watch.Query
		lsn  uint64 // asked for
		want string
		rev  uint64
	}{
		{"all", watch.Query{From: 10}, 7, "11:a 12:a 13:b", 13},
		{"covers skipped events", watch.Query{From: 10, Key: "a"}, 7, "11:a 12:a", 13},
		{"only skipped events", watch.Query{From: 11, Key: "zz"}, 7, "", 13},
		{"max", watch.Query{From: 10, Max: 1}, 5, "11:a", 11},
		{"from now", watch.Query{}, 7, "", 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, v := visibleSample()
			tt.q.Table = "t"
			done := readAsync(t.Context(), h, tt.q)
			if got := asked(t, v); got != tt.lsn {
				t.Fatalf("WaitVisible(%d), want %d", got, tt.lsn)
			}
			v.advance(tt.lsn - 1)
			notYet(t, done)
			v.advance(tt.lsn)
			r := await(t, done)
			if got := summary(r.b.Events); r.err != nil || got != tt.want || r.b.Rev != tt.rev {
				t.Fatalf("got %q at %d, %v; want %q at %d", got, r.b.Rev, r.err, tt.want, tt.rev)
			}
		})
	}
}

func TestHub_Read_WaitVisible_NothingNew(t *testing.T) {
	h, v := visibleSample()
	b := mustRead(t, h, watch.Query{Table: "t", From: 13})
	if len(b.Events) != 0 || b.Rev != 13 {
		t.Fatalf("got %q at %d", summary(b.Events), b.Rev)
	}
	if len(v.asked) != 0 {
		t.Fatalf("WaitVisible(%d) called with nothing to return", <-v.asked)
	}
}

func TestHub_Read_WaitVisible_Cancel(t *testing.T) {
	h, v := visibleSample()
	ctx, cancel := context.WithCancel(t.Context())
	done := readAsync(ctx, h, watch.Query{Table: "t", From: 10})
	asked(t, v)
	cancel()
	if r := await(t, done); !errors.Is(r.err, context.Canceled) || r.b.Events != nil {
		t.Fatalf("got %q, %v; want context.Canceled", summary(r.b.Events), r.err)
	}
}

func TestHub_Read_WaitVisible_Error(t *testing.T) {
	h, v := visibleSample()
	errClosed := errors.New("closed")
	done := readAsync(t.Context(), h, watch.Query{Table: "t", From: 10})
	asked(t, v)
	v.fail(errClosed)
	if r := await(t, done); !errors.Is(r.err, errClosed) {
		t.Fatalf("got %v, want %v", r.err, errClosed)
	}
}

func TestHub_Read_WaitVisible_AfterWakeup(t *testing.T) {
	h, v := visibleSample()
	v.advance(7)
	done := blocked(t, t.Context(), h, watch.Query{Table: "t", Key: "a", From: 13})
	h.Publish("t", []engine.Event{withLSN(set(14, "a"), 8)})
	if got := asked(t, v); got != 8 {
		t.Fatalf("WaitVisible(%d), want 8", got)
	}
	notYet(t, done)
	v.advance(8)
	r := await(t, done)
	if got := summary(r.b.Events); r.err != nil || got != "14:a" || r.b.Rev != 14 {
		t.Fatalf("got %q at %d, %v", got, r.b.Rev, r.err)
	}
}
