package watch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/watch"
)

// value is the value of the events of the benchmarks.
var value = []byte{0x01}

// BenchmarkHub_Publish measures Publish of revisions of n events into a
// history at its cap.
func BenchmarkHub_Publish(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			h := watch.New(watch.Options{MaxEvents: 10_000})
			evs := make([]engine.Event, n)
			b.ReportAllocs()
			b.SetBytes(int64(n * sizeOf(set(1, "k"))))
			rev := uint64(0)
			for b.Loop() {
				rev++
				for i := range evs {
					evs[i] = engine.Event{Rev: rev, Type: engine.EventSet, Table: "t", Key: "k", Value: value}
				}
				h.Publish("t", evs) // the hub copies the events, so evs may be reused here
			}
		})
	}
}

// BenchmarkHub_Publish_IdleReaders measures Publish while readers of other
// keys (which it must not wake) or of the whole table wait.
func BenchmarkHub_Publish_IdleReaders(b *testing.B) {
	for _, tt := range []struct {
		readers int
		q       watch.Query
	}{{0, watch.Query{}}, {100, watch.Query{Key: "other"}}, {1000, watch.Query{Key: "other"}}, {100, watch.Query{Key: "o", Prefix: true}}} {
		b.Run(fmt.Sprintf("readers=%d/key=%q/prefix=%v", tt.readers, tt.q.Key, tt.q.Prefix), func(b *testing.B) {
			h := watch.New(watch.Options{MaxEvents: 10_000})
			h.Reset("t", 1)
			stop := idleReaders(b, h, tt.q, tt.readers)
			defer stop()
			b.ReportAllocs()
			evs := make([]engine.Event, 1)
			rev := uint64(1)
			for b.Loop() {
				rev++
				evs[0] = engine.Event{Rev: rev, Type: engine.EventSet, Table: "t", Key: "k", Value: value}
				h.Publish("t", evs) // the hub copies the events, so evs may be reused here
			}
		})
	}
}

// BenchmarkHub_Read measures a Read of a batch of 100 events of a history
// of 10,000, of every key or of one key in ten, while readers of another
// key wait.
func BenchmarkHub_Read(b *testing.B) {
	for _, tt := range []struct {
		readers int
		key     string
	}{{0, ""}, {1000, ""}, {0, "k0"}} {
		b.Run(fmt.Sprintf("readers=%d/key=%q", tt.readers, tt.key), func(b *testing.B) {
			h := watch.New(watch.Options{})
			h.Reset("t", 1)
			stop := idleReaders(b, h, watch.Query{Key: "other"}, tt.readers)
			defer stop()
			for r := uint64(2); r <= 10_001; r++ {
				h.Publish("t", []engine.Event{set(r, fmt.Sprint("k", r%10))})
			}
			ctx := context.Background()
			b.ReportAllocs()
			from := uint64(1)
			for b.Loop() {
				if _, err := h.Read(ctx, watch.Query{Table: "t", Key: tt.key, From: from, Max: 100}); err != nil {
					b.Fatal(err)
				}
				from = 1 + (from+100)%10_000
			}
		})
	}
}

// idleReaders starts n readers of q on table "t" of h, waits until they
// wait, and returns a function that stops them.
func idleReaders(b *testing.B, h *watch.Hub, q watch.Query, n int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	q.Table, q.Wait = "t", time.Hour
	for range n {
		wg.Go(func() {
			q := q
			for ctx.Err() == nil {
				batch, _ := h.Read(ctx, q)
				q.From = batch.Rev
			}
		})
	}
	ctest.Eventually(b, 10*time.Second, "the readers to wait", func() bool { return watch.Waiting(h, "t") == n })
	return func() { cancel(); wg.Wait() }
}
