package watch_test

import (
	"errors"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

func TestHub_Tail(t *testing.T) {
	h := watch.New(watch.Options{})
	h.Reset("t", 10)
	publish(h, "t", set(11, "a"), set(12, "a"), set(12, "b"), set(13, "c"), set(15, "d"))
	tests := []struct {
		name      string
		upTo      uint64
		maxEvents int
		base      uint64
		want      string
		ok        bool
	}{
		{"everything", 15, 100, 10, "11:a 12:a 12:b 13:c 15:d", true},
		{"up to a revision", 13, 100, 10, "11:a 12:a 12:b 13:c", true},
		{"between revisions", 14, 100, 10, "11:a 12:a 12:b 13:c", true},
		{"capped, whole revisions", 13, 2, 12, "13:c", true},
		{"capped at a shared revision", 13, 3, 11, "12:a 12:b 13:c", true},
		{"the base itself", 10, 100, 10, "", true},
		{"before the history", 9, 100, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, evs, ok := h.Tail("t", tt.upTo, tt.maxEvents, 1<<20)
			if ok != tt.ok || (ok && (base != tt.base || summary(evs) != tt.want)) {
				t.Fatalf("Tail = %d %q %v, want %d %q %v", base, summary(evs), ok, tt.base, tt.want, tt.ok)
			}
		})
	}
}

// A tail loaded into a new hub serves reads from its base and its events,
// as the hub it came from did, and later events follow it.
func TestHub_Load(t *testing.T) {
	h := watch.New(watch.Options{})
	h.Reset("t", 10)
	publish(h, "t", set(11, "a"), set(12, "b"), set(13, "c"))
	base, evs, _ := h.Tail("t", 13, 2, 1<<20)

	n := watch.New(watch.Options{})
	n.Load("t", base, evs)
	publish(n, "t", set(20, "d"))
	if b := mustRead(t, n, watch.Query{Table: "t", From: 12}); summary(b.Events) != "13:c 20:d" {
		t.Fatalf("read after 12: %q", summary(b.Events))
	}
	if _, err := n.Read(t.Context(), watch.Query{Table: "t", From: 10}); !errors.Is(err, watch.ErrCompacted) {
		t.Fatalf("read before the tail: %v, want ErrCompacted", err)
	}
	n.Load("t", 30, []engine.Event{set(29, "x")}) // out of order: the history starts at base
	if got := n.Rev("t"); got != 30 {
		t.Fatalf("Rev after a bad load = %d, want 30", got)
	}
}
