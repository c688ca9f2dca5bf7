package watch

import (
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// revs returns the revisions in r, oldest first.
func (r *ring) revs() []uint64 {
	out := make([]uint64, r.n)
	for i := range out {
		out[i] = r.at(i).Rev
	}
	return out
}

func TestRing_Queue(t *testing.T) {
	var r ring
	next, oldest := uint64(1), uint64(1)
	for round := range 200 {
		for range round % 37 {
			r.push(&engine.Event{Rev: next})
			next++
		}
		for range round % 23 {
			if r.n > 0 {
				r.pop()
				oldest++
			}
		}
		r.shrink()
		for i, rev := range r.revs() {
			if rev != oldest+uint64(i) {
				t.Fatalf("round %d: revisions %v, want from %d", round, r.revs(), oldest)
			}
		}
		if len(r.buf) < r.n || len(r.buf)&(len(r.buf)-1) != 0 {
			t.Fatalf("round %d: capacity %d for %d events", round, len(r.buf), r.n)
		}
	}
}

func TestRing_Shrink(t *testing.T) {
	var r ring
	for i := range 1000 {
		r.push(&engine.Event{Rev: uint64(i)})
	}
	for r.n > 10 {
		r.pop()
		r.shrink()
	}
	if len(r.buf) > 64 {
		t.Fatalf("capacity %d for %d events", len(r.buf), r.n)
	}
	for i := range r.buf { // popped slots hold nothing
		if ev := r.buf[i]; ev.Rev != 0 && (ev.Rev < 990 || ev.Rev >= 1000) {
			t.Fatalf("slot %d holds %d", i, ev.Rev)
		}
	}
}

func TestRing_Search(t *testing.T) {
	var r ring
	for range 5 { // wrap around
		r.push(&engine.Event{Rev: 1})
	}
	for range 5 {
		r.pop()
	}
	for _, rev := range []uint64{2, 2, 4, 5, 5, 5, 9} {
		r.push(&engine.Event{Rev: rev})
	}
	tests := []struct {
		rev  uint64
		want int
	}{{0, 0}, {1, 0}, {2, 2}, {3, 2}, {4, 3}, {5, 6}, {8, 6}, {9, 7}, {10, 7}}
	for _, tt := range tests {
		if got := r.search(tt.rev); got != tt.want {
			t.Errorf("search(%d) = %d, want %d", tt.rev, got, tt.want)
		}
	}
}
