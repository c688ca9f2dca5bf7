package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// benchEngine returns an engine with a dict "d" of 1000 keys holding
// values of size bytes and a list "l" of 1000 such values.
func benchEngine(b *testing.B, size int) (*Engine, []string, cbor.RawMessage) {
	e := New(nil)
	v := enc(b, make([]byte, size))
	keys := make([]string, 1000)
	vals := make([]cbor.RawMessage, len(keys))
	for i := range keys {
		keys[i], vals[i] = fmt.Sprintf("key-%04d", i), v
	}
	ok(b, e, Op{Code: OpCreateTable, Table: "d", Kind: KindDict, Keys: keys, Values: vals})
	ok(b, e, Op{Code: OpCreateTable, Table: "l", Kind: KindList, Values: vals})
	ok(b, e, Op{Code: OpCreateTable, Table: "c", Kind: KindDict})
	return e, keys, v
}

// benchOps builds the op of each benchmark for key k and value v.
var benchOps = []struct {
	name string
	op   func(k string, v cbor.RawMessage) Op
}{
	{"get", func(k string, _ cbor.RawMessage) Op { return Op{Code: OpDictGet, Table: "d", Key: k} }},
	{"set", func(k string, v cbor.RawMessage) Op { return Op{Code: OpDictSet, Table: "d", Key: k, Value: v} }},
	{"incr", func(k string, _ cbor.RawMessage) Op { return Op{Code: OpDictIncr, Table: "c", Key: k, Delta: 1} }},
	{"listget", func(string, cbor.RawMessage) Op { return Op{Code: OpListGet, Table: "l", Index: -1} }},
	{"listset", func(_ string, v cbor.RawMessage) Op { return Op{Code: OpListSet, Table: "l", Index: 7, Value: v} }},
}

func BenchmarkApply(b *testing.B) {
	for _, size := range []int{16, 4096} {
		for _, bo := range benchOps {
			b.Run(fmt.Sprintf("%s/%dB", bo.name, size), func(b *testing.B) {
				e, keys, v := benchEngine(b, size)
				b.ReportAllocs()
				b.SetBytes(int64(len(v)))
				i := 0
				for b.Loop() {
					op := bo.op(keys[i%len(keys)], v)
					var res Result
					e.Apply(&op, &res)
					i++
				}
			})
		}
	}
}

func BenchmarkApply_Parallel(b *testing.B) {
	for _, bo := range benchOps {
		b.Run(bo.name, func(b *testing.B) {
			e, keys, v := benchEngine(b, 16)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					op := bo.op(keys[i%len(keys)], v)
					var res Result
					e.Apply(&op, &res)
					i += 7
				}
			})
		})
	}
}

func BenchmarkApply_Sort(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e := New(nil)
			vals := make([]cbor.RawMessage, n)
			for i := range vals {
				vals[i] = enc(b, (i*7919)%n)
			}
			ok(b, e, Op{Code: OpCreateTable, Table: "l", Kind: KindList, Values: vals})
			b.ReportAllocs()
			rev := false
			for b.Loop() {
				rev = !rev
				ok(b, e, Op{Code: OpListSort, Table: "l", Reverse: rev})
			}
		})
	}
}

func BenchmarkApply_Scan(b *testing.B) {
	e, _, _ := benchEngine(b, 16)
	b.ReportAllocs()
	for b.Loop() {
		op := Op{Code: OpDictScan, Table: "d", Limit: 100}
		for {
			res := ok(b, e, op)
			if res.Cursor == 0 {
				break
			}
			op.Cursor = res.Cursor
		}
	}
}

func BenchmarkSnapshot(b *testing.B) {
	e, _, _ := benchEngine(b, 16)
	b.ReportAllocs()
	for b.Loop() {
		e.Snapshot()
	}
}

// bigTable returns an engine holding the table "big" of n entries with
// 64-byte values, a dict of the keys returned or a list.
func bigTable(b *testing.B, kind Kind, n int) (*Engine, []string, cbor.RawMessage) {
	e := New(nil)
	value := append([]byte{0x58, 64}, make([]byte, 64)...)
	keys := make([]string, n)
	values := make([]cbor.RawMessage, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%08d", i)
		values[i] = value
	}
	op := Op{Code: OpCreateTable, Table: "big", Kind: kind, Keys: keys, Values: values}
	if kind == KindList {
		op.Keys = nil
	}
	ok(b, e, op)
	return e, keys, value
}

// pauseMeter runs a writer and a reader of one table, each applying an
// operation about every 50µs, and keeps the longest each one took: how
// long a client of the table waits at worst, locks, scheduling and
// garbage collection included.
type pauseMeter struct {
	e           *Engine
	stop        chan struct{}
	wg          sync.WaitGroup
	write, read atomic.Int64 // longest operation, in nanoseconds
}

// meterPauses starts the writer, applying write(i) for i = 0, 1, ...,
// and the reader, applying read(i).
func meterPauses(e *Engine, write, read func(i int) Op) *pauseMeter {
	m := &pauseMeter{e: e, stop: make(chan struct{})}
	m.wg.Go(func() { m.loop(&m.write, write) })
	m.wg.Go(func() { m.loop(&m.read, read) })
	return m
}

func (m *pauseMeter) loop(longest *atomic.Int64, next func(int) Op) {
	for i := 0; ; i++ {
		select {
		case <-m.stop:
			return
		default:
		}
		op := next(i)
		start := time.Now()
		var res Result
		m.e.Apply(&op, &res)
		if d := int64(time.Since(start)); d > longest.Load() {
			longest.Store(d)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// report stops the goroutines and reports the longest waits.
func (m *pauseMeter) report(b *testing.B) {
	close(m.stop)
	m.wg.Wait()
	b.ReportMetric(float64(m.write.Load())/1e6, "max-writer-pause-ms")
	b.ReportMetric(float64(m.read.Load())/1e6, "max-reader-pause-ms")
}

// BenchmarkSnapshot_1M times the copy of a dict of 1M keys with 64-byte
// values while a writer sets and a reader gets keys of the same dict.
func BenchmarkSnapshot_1M(b *testing.B) {
	e, keys, value := bigTable(b, KindDict, 1<<20)
	key := func(i int) string { return keys[i*7919%len(keys)] }
	m := meterPauses(e,
		func(i int) Op { return Op{Code: OpDictSet, Table: "big", Key: key(i), Value: value} },
		func(i int) Op { return Op{Code: OpDictGet, Table: "big", Key: key(i)} })
	b.ReportAllocs()
	for b.Loop() {
		e.Snapshot()
	}
	m.report(b)
}

// BenchmarkSnapshot_List1M is BenchmarkSnapshot_1M for a list, which is
// copied under its read lock: its writers wait for the whole copy.
func BenchmarkSnapshot_List1M(b *testing.B) {
	e, _, value := bigTable(b, KindList, 1<<20)
	index := func(i int) int64 { return int64(i * 7919 % (1 << 20)) }
	m := meterPauses(e,
		func(i int) Op { return Op{Code: OpListSet, Table: "big", Index: index(i), Value: value} },
		func(i int) Op { return Op{Code: OpListGet, Table: "big", Index: index(i)} })
	b.ReportAllocs()
	for b.Loop() {
		e.Snapshot()
	}
	m.report(b)
}
