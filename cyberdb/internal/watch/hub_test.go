package watch_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// sample returns a hub whose table "t" starts at revision 10 and holds
// 11:a 12:ab 12:b 13:- 14:b1 15:a 15:abc.
func sample() *watch.Hub {
	h := watch.New(watch.Options{})
	h.Reset("t", 10)
	publish(h, "t", set(11, "a"), set(12, "ab"), set(12, "b"), clearEv(13),
		set(14, "b1"), set(15, "a"), set(15, "abc"))
	return h
}

func TestHub_Read_Filter(t *testing.T) {
	size := sizeOf(set(11, "a"))
	three := size + sizeOf(set(12, "ab")) + sizeOf(set(12, "b"))
	tests := []struct {
		name string
		q    watch.Query
		want string
		rev  uint64
	}{
		{"all", watch.Query{From: 10}, "11:a 12:ab 12:b 13:- 14:b1 15:a 15:abc", 15},
		{"empty prefix", watch.Query{From: 10, Prefix: true}, "11:a 12:ab 12:b 13:- 14:b1 15:a 15:abc", 15},
		{"key a", watch.Query{From: 10, Key: "a"}, "11:a 13:- 15:a", 15},
		{"key b", watch.Query{From: 10, Key: "b"}, "12:b 13:-", 15},
		{"prefix a", watch.Query{From: 10, Key: "a", Prefix: true}, "11:a 12:ab 13:- 15:a 15:abc", 15},
		{"prefix b", watch.Query{From: 10, Key: "b", Prefix: true}, "12:b 13:- 14:b1", 15},
		{"no such key", watch.Query{From: 10, Key: "zz"}, "13:-", 15},
		{"key a after 12", watch.Query{From: 12, Key: "a"}, "13:- 15:a", 15},
		{"key b after 13", watch.Query{From: 13, Key: "b"}, "", 15},
		{"at the end", watch.Query{From: 15}, "", 15},
		{"max 1", watch.Query{From: 10, Max: 1}, "11:a", 11},
		{"max 2 does not split 12", watch.Query{From: 10, Max: 2}, "11:a", 11},
		{"max 3", watch.Query{From: 10, Max: 3}, "11:a 12:ab 12:b", 12},
		{"max 1 takes a whole first revision", watch.Query{From: 11, Max: 1}, "12:ab 12:b", 12},
		{"max 1 skips unselected", watch.Query{From: 11, Max: 1, Key: "a"}, "13:-", 13},
		{"max 2 key a", watch.Query{From: 10, Max: 2, Key: "a"}, "11:a 13:-", 13},
		{"bytes below one event", watch.Query{From: 10, MaxBytes: 1}, "11:a", 11},
		{"bytes of one event", watch.Query{From: 10, MaxBytes: size}, "11:a", 11},
		{"bytes of two events", watch.Query{From: 10, MaxBytes: 2 * size}, "11:a", 11},
		{"bytes of three events", watch.Query{From: 10, MaxBytes: three}, "11:a 12:ab 12:b", 12},
		{"bytes of three events and a bit", watch.Query{From: 10, MaxBytes: three + 1}, "11:a 12:ab 12:b", 12},
		{"bytes of four events", watch.Query{From: 10, MaxBytes: three + sizeOf(clearEv(13))}, "11:a 12:ab 12:b 13:-", 13},
	}
	h := sample()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Table = "t"
			b := mustRead(t, h, tt.q)
			if got := summary(b.Events); got != tt.want || b.Rev != tt.rev {
				t.Fatalf("got %q at %d, want %q at %d", got, b.Rev, tt.want, tt.rev)
			}
		})
	}
}

func TestHub_Read_FollowsBatchRev(t *testing.T) {
	for _, limit := range []int{1, 2, 3, 100} {
		for _, key := range []string{"", "a", "b", "zz"} {
			t.Run(fmt.Sprintf("max=%d/key=%q", limit, key), func(t *testing.T) {
				h := sample()
				all := mustRead(t, h, watch.Query{Table: "t", From: 10, Key: key})
				var got []engine.Event
				for pos := uint64(10); pos != 15; {
					b := mustRead(t, h, watch.Query{Table: "t", From: pos, Key: key, Max: limit})
					if b.Rev <= pos {
						t.Fatalf("from %d: no progress (Rev %d)", pos, b.Rev)
					}
					got, pos = append(got, b.Events...), b.Rev
				}
				if summary(got) != summary(all.Events) {
					t.Fatalf("got %q, want %q", summary(got), summary(all.Events))
				}
			})
		}
	}
}

func TestHub_Read_Errors(t *testing.T) {
	// MaxEvents 3 drops revision 11, so the history starts at 11 and holds
	// 12 12 14; 13 is a gap.
	h := watch.New(watch.Options{MaxEvents: 3})
	h.Reset("t", 10)
	publish(h, "t", set(11, "a"), set(12, "a"), set(12, "b"), set(14, "a"))
	tests := []struct {
		from uint64
		want error // nil: a valid position
	}{
		{5, &watch.CompactedError{Table: "t", From: 5, Oldest: 11}},
		{10, &watch.CompactedError{Table: "t", From: 10, Oldest: 11}},
		{11, nil},
		{12, nil},
		{13, &watch.LostError{Table: "t", From: 13, Last: 14}},
		{14, nil},
		{15, &watch.LostError{Table: "t", From: 15, Last: 14}},
		{99, &watch.LostError{Table: "t", From: 99, Last: 14}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.from), func(t *testing.T) {
			for _, key := range []string{"", "a", "zz"} { // position checks come first
				_, err := h.Read(t.Context(), watch.Query{Table: "t", Key: key, From: tt.from})
				checkError(t, err, tt.want)
			}
		})
	}
}

// checkError fails t unless err is a *CompactedError or *LostError equal
// to want, matching its sentinel, or both are nil.
func checkError(t *testing.T, err, want error) {
	t.Helper()
	var ce *watch.CompactedError
	var le *watch.LostError
	switch w := want.(type) {
	case nil:
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
	case *watch.CompactedError:
		if !errors.As(err, &ce) || *ce != *w || !errors.Is(err, watch.ErrCompacted) ||
			errors.Is(err, watch.ErrRevisionLost) {
			t.Fatalf("got %#v, want %#v", err, w)
		}
	case *watch.LostError:
		if !errors.As(err, &le) || *le != *w || !errors.Is(err, watch.ErrRevisionLost) ||
			errors.Is(err, watch.ErrCompacted) {
			t.Fatalf("got %#v, want %#v", err, w)
		}
	}
}

func TestHub_Errors_Message(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&watch.CompactedError{Table: "t", From: 5, Oldest: 9},
			`cyberdb: watch of table "t" from revision 5: history starts at revision 9 ` +
				`(re-read the table and watch from there)`},
		{&watch.LostError{Table: "t", From: 7, Last: 6},
			`cyberdb: watch of table "t" from revision 7: no such revision in the history, which is at ` +
				`revision 6 (it was lost when a leader stopped before making it durable; ` +
				`re-read the table and watch from there)`},
		{watch.ErrCompacted, "cyberdb: watch history compacted"},
		{watch.ErrRevisionLost, "cyberdb: watch revision lost"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestHub_Read_FromNow(t *testing.T) {
	h := sample()
	h.Reset("r", 7)
	tests := []struct {
		name  string
		table string
		key   string
		rev   uint64
	}{
		{"events", "t", "", 15},
		{"events, key filter", "t", "zz", 15},
		{"unknown table", "u", "", 0},
		{"reset table", "r", "", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustRead(t, h, watch.Query{Table: tt.table, Key: tt.key})
			if len(b.Events) != 0 || b.Rev != tt.rev {
				t.Fatalf("got %q at %d, want nothing at %d", summary(b.Events), b.Rev, tt.rev)
			}
			if got := h.Rev(tt.table); got != tt.rev {
				t.Fatalf("Rev = %d, want %d", got, tt.rev)
			}
		})
	}
}

func TestHub_Caps(t *testing.T) {
	size := sizeOf(set(1, "k"))
	tests := []struct {
		name     string
		o        watch.Options
		revs     []int // events per revision; revision 11+i holds revs[i]
		wantBase uint64
		wantLeft string
	}{
		{"count", watch.Options{MaxEvents: 3}, []int{1, 1, 1, 1}, 11, "12:k 13:k 14:k"},
		{"count at cap", watch.Options{MaxEvents: 3}, []int{1, 1, 1}, 10, "11:k 12:k 13:k"},
		{"count, shared revision dropped whole", watch.Options{MaxEvents: 3}, []int{2, 2}, 11, "12:k 12:k"},
		{"count, big revision kept", watch.Options{MaxEvents: 3}, []int{1, 3}, 11, "12:k 12:k 12:k"},
		{"count, revision over the cap", watch.Options{MaxEvents: 2}, []int{1, 3}, 12, ""},
		{"count, several dropped", watch.Options{MaxEvents: 3}, []int{1, 1, 1, 3}, 13, "14:k 14:k 14:k"},
		{"bytes", watch.Options{MaxBytes: 3 * size}, []int{1, 1, 1, 1}, 11, "12:k 13:k 14:k"},
		{"bytes at cap", watch.Options{MaxBytes: 3 * size}, []int{1, 2}, 10, "11:k 12:k 12:k"},
		{"bytes, shared revision dropped whole", watch.Options{MaxBytes: 3 * size}, []int{2, 2}, 11, "12:k 12:k"},
		{"bytes below one event", watch.Options{MaxBytes: size - 1}, []int{1, 1}, 12, ""},
		{"both, count first", watch.Options{MaxEvents: 2, MaxBytes: 3 * size}, []int{1, 1, 1}, 11, "12:k 13:k"},
		{"both, bytes first", watch.Options{MaxEvents: 3, MaxBytes: 2 * size}, []int{1, 1, 1}, 11, "12:k 13:k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := watch.New(tt.o)
			h.Reset("t", 10)
			var evs []engine.Event
			for i, n := range tt.revs {
				for range n {
					evs = append(evs, set(uint64(11+i), "k"))
				}
			}
			publish(h, "t", evs...)
			last := uint64(10 + len(tt.revs))
			if got := h.Rev("t"); got != last {
				t.Fatalf("Rev = %d, want %d", got, last)
			}
			checkBase(t, h, tt.wantBase)
			b := mustRead(t, h, watch.Query{Table: "t", From: tt.wantBase})
			if got := summary(b.Events); got != tt.wantLeft || b.Rev != last {
				t.Fatalf("from the base: got %q at %d, want %q at %d", got, b.Rev, tt.wantLeft, last)
			}
		})
	}
}

// checkBase fails t unless the history of "t" starts at base (> 1).
func checkBase(t *testing.T, h *watch.Hub, base uint64) {
	t.Helper()
	_, err := h.Read(t.Context(), watch.Query{Table: "t", From: base - 1})
	var ce *watch.CompactedError
	if !errors.As(err, &ce) || ce.Oldest != base {
		t.Fatalf("from %d: got %v, want history starting at %d", base-1, err, base)
	}
}
func TestHub_Caps_Steady(t *testing.T) {
	// Many revisions through a small cap: the ring wraps and shrinks.
	h := watch.New(watch.Options{MaxEvents: 5})
	for r := uint64(1); r <= 1000; r++ {
		publish(h, "t", set(r, "k"), set(r, "k"))
		if r == 500 {
			h.Reset("t", 500)
		}
	}
	checkBase(t, h, 998)
	b := mustRead(t, h, watch.Query{Table: "t", From: 998})
	if got := summary(b.Events); got != "999:k 999:k 1000:k 1000:k" || b.Rev != 1000 {
		t.Fatalf("got %q at %d", got, b.Rev)
	}
}

func TestHub_Reset(t *testing.T) {
	h := sample()
	h.Reset("t", 3)
	if got := h.Rev("t"); got != 3 {
		t.Fatalf("Rev = %d, want 3", got)
	}
	checkBase(t, h, 3)
	_, err := h.Read(t.Context(), watch.Query{Table: "t", From: 15})
	checkError(t, err, &watch.LostError{Table: "t", From: 15, Last: 3})
	publish(h, "t", set(4, "a"))
	b := mustRead(t, h, watch.Query{Table: "t", From: 3})
	if got := summary(b.Events); got != "4:a" || b.Rev != 4 {
		t.Fatalf("got %q at %d", got, b.Rev)
	}
}

func TestHub_Publish_Order(t *testing.T) {
	tests := []struct {
		name   string
		before []engine.Event // published first, after Reset("t", 10)
		evs    []engine.Event // make Publish restart the history
	}{
		{"revision of the base", nil, []engine.Event{set(10, "a")}},
		{"below the base", nil, []engine.Event{set(9, "a")}},
		{"current revision again", []engine.Event{set(11, "a")}, []engine.Event{set(11, "b")}},
		{"below the current revision", []engine.Event{set(11, "a")}, []engine.Event{set(10, "b")}},
		{"backwards in one call", nil, []engine.Event{set(12, "a"), set(13, "a"), set(12, "b")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := watch.New(watch.Options{})
			h.Reset("t", 10)
			h.Publish("t", tt.before)
			from := h.Rev("t")
			h.Publish("t", tt.evs)
			first := tt.evs[0].Rev
			for _, ev := range tt.evs {
				first = min(first, ev.Rev)
			}
			if _, err := h.Read(context.Background(), watch.Query{Table: "t", From: from}); from < first-1 && err == nil {
				t.Fatalf("read from %d after a restart at %d: no error", from, first-1)
			}
			b := mustRead(t, h, watch.Query{Table: "t", From: first - 1})
			if len(b.Events) != len(tt.evs) || !slices.IsSortedFunc(b.Events, func(a, b engine.Event) int { return cmp.Compare(a.Rev, b.Rev) }) {
				t.Fatalf("after the restart: %v", summary(b.Events))
			}
		})
	}
}

func TestHub_Publish_Empty(t *testing.T) {
	h := watch.New(watch.Options{})
	h.Publish("t", nil)
	if got := h.Rev("t"); got != 0 {
		t.Fatalf("Rev = %d, want 0", got)
	}
}

func TestHub_Publish_Allocs(t *testing.T) {
	h := watch.New(watch.Options{MaxEvents: 1000})
	evs := make([]engine.Event, 10_000)
	for i := range evs {
		evs[i] = set(uint64(i+1), "k")
	}
	publish(h, "t", evs[:5000]...)
	i := 5000
	allocs := testing.AllocsPerRun(1000, func() {
		h.Publish("t", evs[i:i+1])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Publish allocates %v times per call at the cap", allocs)
	}
}

func TestHub_Tables_Apart(t *testing.T) {
	h := watch.New(watch.Options{MaxEvents: 2})
	publish(h, "t", set(11, "a"), set(12, "a"), set(13, "a"))
	publish(h, "u", set(11, "a"))
	if h.Rev("t") != 13 || h.Rev("u") != 11 {
		t.Fatalf("Rev: t %d, u %d", h.Rev("t"), h.Rev("u"))
	}
	b := mustRead(t, h, watch.Query{Table: "u", From: 0})
	if b.Rev != 11 {
		t.Fatalf("u: Rev %d", b.Rev)
	}
	checkBase(t, h, 11)
}
