package watch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// script is the history one publisher writes to its table.
type script struct {
	table string
	revs  [][]engine.Event // the events of each revision, in order
}

// newScript returns n revisions of table after base, with 1 to 3 events
// each, of a few keys or without a key.
func newScript(rng *rand.Rand, table string, base uint64, n int) script {
	keys := []string{"a", "ab", "abc", "b", "b1", ""}
	s := script{table: table}
	for r := base + 1; r <= base+uint64(n); r++ {
		var evs []engine.Event
		for range 1 + rng.IntN(3) {
			k := keys[rng.IntN(len(keys))]
			ev := engine.Event{Rev: r, Type: engine.EventSet, Table: table, Key: k, Value: []byte{byte(r)}}
			if k == "" {
				ev.Type = engine.EventClear
			}
			evs = append(evs, ev)
		}
		s.revs = append(s.revs, evs)
	}
	return s
}

// run publishes s in calls of 1 to 4 revisions, each event with the next
// LSN of lsn, and makes them durable in v after each call.
func (s script) run(rng *rand.Rand, h *watch.Hub, v *visibility, lsn *atomic.Uint64) {
	for i := 0; i < len(s.revs); {
		n := min(1+rng.IntN(4), len(s.revs)-i)
		var evs []engine.Event
		for _, rev := range s.revs[i : i+n] {
			for _, ev := range rev {
				ev.LSN = lsn.Add(1)
				evs = append(evs, ev)
			}
		}
		h.Publish(s.table, evs)
		v.advance(evs[len(evs)-1].LSN)
		i += n
	}
}

// want returns the events of s that q selects.
func (s script) want(q watch.Query) string {
	var evs []engine.Event
	for _, rev := range s.revs {
		for _, ev := range rev {
			if ev.Key == "" || q.Key == "" || ev.Key == q.Key ||
				q.Prefix && len(ev.Key) >= len(q.Key) && ev.Key[:len(q.Key)] == q.Key {
				evs = append(evs, ev)
			}
		}
	}
	return summary(evs)
}

// follow reads q until position last and returns the events, checking
// each batch against the caps of q and the durability of v.
func follow(ctx context.Context, h *watch.Hub, v *visibility, q watch.Query, last uint64) (string, error) {
	var got []engine.Event
	for q.From != last {
		b, err := h.Read(ctx, q)
		if err != nil {
			return "", err
		}
		if err := checkBatch(q, b, v.get()); err != nil {
			return "", err
		}
		got, q.From = append(got, b.Events...), b.Rev
	}
	return summary(got), nil
}

// checkBatch returns what is wrong with b, read for q when durable was
// the highest durable LSN.
func checkBatch(q watch.Query, b watch.Batch, durable uint64) error {
	if b.Rev < q.From {
		return fmt.Errorf("from %d: Rev %d went back", q.From, b.Rev)
	}
	limit := q.Max
	if limit == 0 {
		limit = watch.DefaultReadMax
	}
	if n := len(b.Events); n > limit && b.Events[0].Rev != b.Events[n-1].Rev {
		return fmt.Errorf("from %d: %d events over max %d", q.From, n, limit)
	}
	for _, ev := range b.Events {
		if ev.Rev <= q.From || ev.Rev > b.Rev || ev.LSN > durable {
			return fmt.Errorf("from %d to %d: event %d (LSN %d, durable %d)", q.From, b.Rev, ev.Rev, ev.LSN, durable)
		}
	}
	return nil
}

func TestHub_Concurrent(t *testing.T) {
	tables, revs, readers := 4, 1500, 200
	if testing.Short() {
		revs = 300
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	v := newVisibility()
	h := watch.New(watch.Options{WaitVisible: v.WaitVisible})
	var scripts []script
	for i := range tables {
		s := newScript(rng, fmt.Sprintf("t%d", i), 10, revs)
		h.Reset(s.table, 10)
		scripts = append(scripts, s)
	}
	queries := []watch.Query{{}, {Key: "a"}, {Key: "b"}, {Key: "zz"}, {Key: "a", Prefix: true}, {Key: "b", Prefix: true}}
	maxes := []int{1, 2, 3, 7, 0}
	// Readers that skip events see the end only when their wait elapses.
	waits := []time.Duration{time.Millisecond, 20 * time.Millisecond, time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range readers {
		s := scripts[i%tables]
		q := queries[rng.IntN(len(queries))]
		q.Table, q.From, q.Max = s.table, 10, maxes[rng.IntN(len(maxes))]
		q.Wait = waits[rng.IntN(len(waits))]
		wg.Go(func() {
			got, err := follow(ctx, h, v, q, uint64(10+revs))
			if err != nil {
				t.Errorf("%+v: %v", q, err)
			} else if want := s.want(q); got != want {
				t.Errorf("%+v:\ngot  %s\nwant %s", q, got, want)
			}
		})
	}
	var lsn atomic.Uint64
	for i, s := range scripts {
		r := rand.New(rand.NewPCG(uint64(seed), uint64(i+1)))
		wg.Go(func() { s.run(r, h, v, &lsn) })
	}
	wg.Wait()
}
