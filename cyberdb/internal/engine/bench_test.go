package engine

import (
	"fmt"
	"testing"

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

// BenchmarkSnapshot_1M times the copy of a dict of 1M keys with 64-byte
// values: writers to that table wait for this long while a snapshot is
// taken (readers do not).
func BenchmarkSnapshot_1M(b *testing.B) {
	e := New(nil)
	value := append([]byte{0x58, 64}, make([]byte, 64)...)
	keys := make([]string, 1<<20)
	values := make([]cbor.RawMessage, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%08d", i)
		values[i] = value
	}
	var res Result
	e.Apply(&Op{Code: OpCreateTable, Table: "big", Kind: KindDict, Keys: keys, Values: values}, &res)
	if res.Err != OK {
		b.Fatal(res.Msg)
	}
	for b.Loop() {
		e.Snapshot()
	}
}
