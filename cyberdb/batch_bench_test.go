package cyberdb_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// benchRoles runs f against a leader's DB and against a client's DB.
func benchRoles(b *testing.B, f func(b *testing.B, db *cyberdb.DB)) {
	b.Run("leader", func(b *testing.B) { f(b, openLeader(b, ctest.Dir(b))) })
	b.Run("client", func(b *testing.B) {
		dir := ctest.Dir(b)
		openLeader(b, dir)
		f(b, openClient(b, dir))
	})
}

// benchKeys are the keys the benchmarks read.
var benchKeys = func() []string {
	keys := make([]string, 16)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	return keys
}()

// benchDict returns a dict holding benchKeys.
func benchDict(b *testing.B, db *cyberdb.DB) *cyberdb.Dict {
	ctx := context.Background()
	d, err := db.CreateDict(ctx, "bench")
	must(b, err)
	for i, k := range benchKeys {
		must(b, d.Set(ctx, k, i))
	}
	return d
}

// BenchmarkBatch16 reads 16 keys in one batch per iteration.
func BenchmarkBatch16(b *testing.B) {
	benchRoles(b, func(b *testing.B, db *cyberdb.DB) {
		d, ctx := benchDict(b, db), context.Background()
		bt := db.Batch()
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range benchKeys {
				bt.Get(d, k)
			}
			must(b, bt.Run(ctx))
		}
	})
}

// BenchmarkGet16 reads the same 16 keys with one call each, for
// comparison with BenchmarkBatch16.
func BenchmarkGet16(b *testing.B) {
	benchRoles(b, func(b *testing.B, db *cyberdb.DB) {
		d, ctx := benchDict(b, db), context.Background()
		var v int
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range benchKeys {
				if _, err := d.Get(ctx, k, &v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
