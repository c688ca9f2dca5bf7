package backup_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// benchTables returns one dict of n keys with 64-byte values (a CBOR byte
// string of 62 bytes), each with its own version and one in four with a
// deadline.
func benchTables(n int) ([]engine.TableData, int64) {
	td := engine.TableData{Name: "bench", Kind: engine.KindDict, Rev: uint64(n), Dict: make(map[string]engine.Entry, n)}
	var size int64
	for i := range n {
		v := make([]byte, 64)
		v[0], v[1] = 0x58, 62
		binary.BigEndian.PutUint64(v[2:], uint64(i))
		k := fmt.Sprintf("key-%08d", i)
		e := engine.Entry{V: v, Ver: uint64(i) + 1}
		if i%4 == 0 {
			e.Exp = 1_700_000_000_000_000_000 + int64(i)
		}
		td.Dict[k] = e
		size += int64(len(k) + len(v))
	}
	return []engine.TableData{td}, size
}

var benchSizes = []struct {
	name string
	n    int
}{{"100k", 100_000}, {"1M", 1_000_000}}

func BenchmarkWrite(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			if testing.Short() && bs.n > 100_000 {
				b.Skip("large")
			}
			tables, size := benchTables(bs.n)
			path := filepath.Join(b.TempDir(), "bench.cdb")
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if err := backup.Write(path, tables, backup.Meta{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshotWrite_1M times a whole snapshot of a dict of 1M keys
// with 64-byte values: the engine's copy, then Write.
func BenchmarkSnapshotWrite_1M(b *testing.B) {
	tables, _ := benchTables(1 << 20)
	e := engine.New(nil)
	e.RestoreOwned(tables)
	path := filepath.Join(b.TempDir(), "bench.cdb")
	b.ReportAllocs()
	for b.Loop() {
		if err := backup.Write(path, e.Snapshot(), backup.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

func BenchmarkRead(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			if testing.Short() && bs.n > 100_000 {
				b.Skip("large")
			}
			tables, size := benchTables(bs.n)
			path := filepath.Join(b.TempDir(), "bench.cdb")
			if err := backup.Write(path, tables, backup.Meta{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := backup.Read(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkStat(b *testing.B) {
	tables, size := benchTables(100_000)
	path := filepath.Join(b.TempDir(), "bench.cdb")
	if err := backup.Write(path, tables, backup.Meta{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := backup.Stat(path); err != nil {
			b.Fatal(err)
		}
	}
}
