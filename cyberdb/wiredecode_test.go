package cyberdb

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// tightCodec has the smallest limits a store accepts, so that the
// messages of the tests reach them.
var tightCodec = func() *ipc.Codec {
	c, err := ipc.NewCodec(ipc.Limits{MaxMessageSize: 1024, MaxNestedLevels: 4, MaxArrayElements: 16, MaxMapPairs: 16})
	if err != nil {
		panic(err)
	}
	return c
}()

// decodeFast decodes b into v, a *engine.Op, *engine.Result or *record,
// with the direct decoder.
func decodeFast(c *ipc.Codec, b []byte, v any) bool {
	switch v := v.(type) {
	case *engine.Op:
		return decodeOp(c, b, v)
	case *engine.Result:
		return decodeResult(c, b, v)
	case *record:
		return decodeRecord(c, b, v)
	}
	panic("decodeFast: unexpected type")
}

// unmarshalAny decodes b into v as the callers do: directly, else with
// the generic decoder.
func unmarshalAny(c *ipc.Codec, b []byte, v any) error {
	switch v := v.(type) {
	case *engine.Op:
		return unmarshalOp(c, b, v)
	case *engine.Result:
		return unmarshalResult(c, b, v)
	case *record:
		return unmarshalRecord(c, b, v)
	}
	panic("unmarshalAny: unexpected type")
}

// agree decodes b into a fresh destination made by dst with both
// decoders and fails unless the direct one, when it accepts b, gives
// what the generic one gives, or, when it declines, resets its
// destination so that the generic decoder then ends as on a fresh one.
// It reports whether the direct decoder accepted. The input is
// overwritten after decoding, to catch values still sharing it.
func agree[T any](t testing.TB, c *ipc.Codec, b []byte, dst func() *T) bool {
	t.Helper()
	want, got := dst(), dst()
	werr := c.Unmarshal(b, want)
	in := bytes.Clone(b)
	ok := decodeFast(c, in, got)
	if !ok {
		if !reflect.DeepEqual(got, dst()) {
			t.Fatalf("declined %x but did not reset the destination:\n%+v", b, *got)
		}
		if gerr := c.Unmarshal(in, got); (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("declined %x, then the generic decoder gave %v, %+v\nwant %v, %+v", b, gerr, *got, werr, *want)
		}
	}
	for i := range in {
		in[i] = 0xff
	}
	switch {
	case ok && werr != nil:
		t.Fatalf("accepted %x, which the generic decoder rejects: %v", b, werr)
	case ok && !reflect.DeepEqual(got, want):
		t.Fatalf("decoded %x differently\n got %+v\nwant %+v", b, *got, *want)
	}
	return ok
}

// zero returns a function making zero values of T.
func zero[T any]() func() *T { return func() *T { return new(T) } }

// getReply is the destination of a client's Get: an empty value buffer.
func getReply() *engine.Result {
	return &engine.Result{Value: make(cbor.RawMessage, 0, smallValue)}
}

// batchReply is the destination of a client's Batch.Run after the
// first: the results of the last run, emptied and cleared.
func batchReply() *engine.Result {
	return &engine.Result{Results: make([]engine.Result, 0, 4)}
}

// encodeFor returns the bytes the leader or a client sends for v: the
// direct encoding, else the generic one.
func encodeFor(t testing.TB, v any, direct func([]byte) ([]byte, bool)) ([]byte, bool) {
	t.Helper()
	if b, ok := direct(nil); ok {
		return b, true
	}
	b, err := ipc.DefaultCodec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b, false
}

// TestDecode_MatchesGenericDecoder checks that the direct decoders read
// every message the direct encoders write, as the generic decoder does,
// into the destinations the callers give, and decline the messages only
// the generic encoder writes.
func TestDecode_MatchesGenericDecoder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		op, res := randomOp(r, 2), randomResult(r, 2)
		b, direct := encodeFor(t, op, func(b []byte) ([]byte, bool) { return appendOp(b, &op) })
		if agree(t, ipc.DefaultCodec, b, zero[engine.Op]()) != direct {
			t.Fatalf("%d: op %+v: direct encoding %v, direct decoding %v", i, op, direct, !direct)
		}
		agree(t, tightCodec, b, zero[engine.Op]())

		b, direct = encodeFor(t, res, func(b []byte) ([]byte, bool) { return appendResult(b, &res) })
		if agree(t, ipc.DefaultCodec, b, zero[engine.Result]()) != direct {
			t.Fatalf("%d: result %+v: direct encoding %v, direct decoding %v", i, res, direct, !direct)
		}
		agree(t, ipc.DefaultCodec, b, getReply)
		agree(t, ipc.DefaultCodec, b, batchReply)
		agree(t, tightCodec, b, zero[engine.Result]())

		rec := record{Op: op, Res: res}
		b, direct = encodeFor(t, rec, func(b []byte) ([]byte, bool) { return appendRecord(b, &op, &res) })
		if agree(t, ipc.DefaultCodec, b, zero[record]()) != direct {
			t.Fatalf("%d: record %+v: direct encoding %v, direct decoding %v", i, rec, direct, !direct)
		}
		agree(t, tightCodec, b, zero[record]())
	}
}

// commonOps are the requests of the usual calls.
func commonOps(t testing.TB) map[string]engine.Op {
	value := mustRaw(t, make([]byte, 16))
	return map[string]engine.Op{
		"get":  {Code: engine.OpDictGet, Table: "sessions", Key: "user:12345"},
		"set":  {Code: engine.OpDictSet, Table: "sessions", Key: "user:12345", Value: value, Client: 7, Seq: 99, Ack: 98},
		"incr": {Code: engine.OpDictIncr, Table: "counters", Key: "hits", Delta: -3, Client: 7, Seq: 100},
		"update": {Code: engine.OpDictUpdate, Table: "sessions", Keys: []string{"a", "", "ü"},
			Values: []cbor.RawMessage{value, mustRaw(t, nil), mustRaw(t, map[string]any{"x": []any{1.5, "y"}})}},
		"slice": {Code: engine.OpListSlice, Table: "queue", Index: math.MinInt64, Stop: math.MaxInt64},
		"batch": {Code: engine.OpBatch, Client: 7, Ops: []engine.Op{
			{Code: engine.OpDictSet, Table: "t", Key: "k", Value: value, Seq: 1},
			{Code: engine.OpListAppend, Table: "l", Value: value, Seq: 2},
		}},
		"lock":  {Code: engine.OpLock, Key: "job", TTL: 1e9, Wait: -1, Tag: 5, Now: 1, Rev: 2, PID: 3, Version: 4},
		"watch": {Code: engine.OpWatch, Table: "t", Key: "p", Prefix: true, Limit: 10, Cursor: 1 << 40},
		"sort":  {Code: engine.OpListSort, Table: "l", Field: "name", Reverse: true, Kind: engine.KindList},
		"cas":   {Code: engine.OpDictCAS, Table: "t", Key: "k", Old: value, Value: mustRaw(t, true)},
	}
}

// commonResults are the replies of the usual calls.
func commonResults(t testing.TB) map[string]engine.Result {
	value := mustRaw(t, make([]byte, 16))
	return map[string]engine.Result{
		"get":   {Found: true, Value: value, Version: 42},
		"set":   {Version: 43},
		"empty": {},
		"incr":  {Int: -12},
		"error": {Err: engine.ErrWrongType, Msg: "not an integer: é"},
		"scan":  {Keys: []string{"a", "b"}, Values: []cbor.RawMessage{value, value}, Cursor: 3},
		"batch": {Results: []engine.Result{{Version: 1}, {Found: true, Value: value}, {Err: engine.ErrIndex, Msg: "index"}}},
		"pop":   {Found: true, Key: "k", Value: value, Rev: 8},
	}
}

// mustRaw encodes v as the public API does.
func mustRaw(t testing.TB, v any) cbor.RawMessage {
	t.Helper()
	b, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecode_CommonShapes checks that the direct decoders read the
// requests, replies and log records of the usual calls.
func TestDecode_CommonShapes(t *testing.T) {
	for name, op := range commonOps(t) {
		b, ok := appendOp(nil, &op)
		if !ok || !agree(t, ipc.DefaultCodec, b, zero[engine.Op]()) {
			t.Errorf("op %s: not read directly", name)
		}
		for rname, res := range commonResults(t) {
			b, ok := appendRecord(nil, &op, &res)
			if !ok || !agree(t, ipc.DefaultCodec, b, zero[record]()) {
				t.Errorf("record %s/%s: not read directly", name, rname)
			}
		}
	}
	for name, res := range commonResults(t) {
		b, ok := appendResult(nil, &res)
		if !ok || !agree(t, ipc.DefaultCodec, b, getReply) || !agree(t, ipc.DefaultCodec, b, batchReply) ||
			!agree(t, ipc.DefaultCodec, b, zero[engine.Result]()) {
			t.Errorf("result %s: not read directly", name)
		}
	}
}

// TestDecode_ValueIntoBuffer checks that a reply's value lands in the
// buffer the caller gives, as with the generic decoder, and that reading
// a Get's reply then allocates nothing.
func TestDecode_ValueIntoBuffer(t *testing.T) {
	res := commonResults(t)["get"]
	b, _ := appendResult(nil, &res)
	buf := make(cbor.RawMessage, 0, smallValue)
	var got engine.Result
	allocs := testing.AllocsPerRun(100, func() {
		got = engine.Result{Value: buf[:0]}
		if !decodeResult(ipc.DefaultCodec, b, &got) {
			t.Fatal("declined")
		}
	})
	if &got.Value[0] != &buf[:1][0] || !bytes.Equal(got.Value, res.Value) {
		t.Fatalf("value %x not decoded into the buffer", got.Value)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per Get reply", allocs)
	}
}

// TestDecode_ResultsIntoBuffer checks that a batch's results land in the
// storage the caller gives when it is large enough, as with the generic
// decoder.
func TestDecode_ResultsIntoBuffer(t *testing.T) {
	res := commonResults(t)["batch"]
	b, _ := appendResult(nil, &res)
	buf := make([]engine.Result, 0, len(res.Results))
	got := engine.Result{Results: buf}
	if !decodeResult(ipc.DefaultCodec, b, &got) {
		t.Fatal("declined")
	}
	if &got.Results[0] != &buf[:1][0] || !reflect.DeepEqual(got, res) {
		t.Fatalf("results %+v not decoded into the buffer", got.Results)
	}
}

// TestDecode_DeepNesting checks that ops nested as deep as the codec
// allows are read directly, and deeper ones left to the generic decoder.
func TestDecode_DeepNesting(t *testing.T) {
	op := engine.Op{Code: engine.OpDictSet, Table: "t", Key: "k", Value: cbor.RawMessage{0x01}}
	for range 15 { // a map and an array a level: 31 levels of 32
		op = engine.Op{Code: engine.OpBatch, Ops: []engine.Op{op}}
	}
	b, _ := appendOp(nil, &op)
	if !agree(t, ipc.DefaultCodec, b, zero[engine.Op]()) {
		t.Fatal("not read directly")
	}
	op = engine.Op{Code: engine.OpBatch, Ops: []engine.Op{op}}
	b, _ = appendOp(nil, &op)
	if agree(t, ipc.DefaultCodec, b, zero[engine.Op]()) {
		t.Fatal("read directly beyond MaxNestedLevels")
	}
}

// pairs returns a CBOR map of the given keys and encoded values, in the
// order given.
func pairs(kvs ...any) []byte {
	b := appendHead(nil, majorMap, uint64(len(kvs)/2))
	for i := 0; i < len(kvs); i += 2 {
		b = appendHead(b, majorUint, uint64(kvs[i].(int)))
		b = append(b, kvs[i+1].([]byte)...)
	}
	return b
}

// u, neg and txt encode an unsigned integer, a negative one and a text.
func u(n uint64) []byte       { return appendHead(nil, majorUint, n) }
func neg(n uint64) []byte     { return appendHead(nil, majorNeg, n) }
func txt(s string) []byte     { return append(appendHead(nil, majorText, uint64(len(s))), s...) }
func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// offShape is a message the direct encoders never write.
type offShape struct {
	name    string
	into    func() any
	b       []byte
	c       *ipc.Codec // DefaultCodec if nil
	wantErr bool       // the generic decoder rejects it
}

// offShapes are messages the direct decoders must leave to the generic
// one, which accepts some and rejects others.
func offShapes() []offShape {
	op := func() any { return new(engine.Op) }
	res := func() any { return new(engine.Result) }
	batch := func() any { return batchReply() }
	rec := func() any { return new(record) }
	set := engine.Op{Code: engine.OpDictSet, Table: "t", Key: "k", Value: cbor.RawMessage{0x01}}
	canonical, _ := appendOp(nil, &set)
	many := make([]any, 0, 40)
	for k := 1; k <= 19; k++ {
		many = append(many, k, u(1))
	}
	keys := []byte{0x98, 17}
	for range 17 {
		keys = append(keys, txt("k")...)
	}
	nested := engine.Op{Code: engine.OpBatch, Ops: []engine.Op{{Code: engine.OpDictUpdate, Values: []cbor.RawMessage{{0xa1, 0x01, 0x81, 0x01}}}}}
	deep, _ := appendRecord(nil, &nested, &engine.Result{})
	results := cat([]byte{0x82}, pairs(3, []byte{0xf5}, 8, u(2)), pairs(13, u(1)))
	return []offShape{
		{name: "keys out of order", into: op, b: pairs(4, txt("k"), 1, u(6), 2, txt("t"))},
		{name: "duplicate key", into: op, b: pairs(1, u(6), 1, u(7)), wantErr: true},
		{name: "indefinite map", into: op, b: []byte{0xbf, 0x01, 0x06, 0xff}, wantErr: true},
		{name: "indefinite text", into: op, b: cat([]byte{0xa2, 0x01, 0x06, 0x02, 0x7f}, txt("t"), []byte{0xff}), wantErr: true},
		{name: "indefinite array", into: op, b: cat([]byte{0xa2, 0x01, 0x06, 0x07, 0x9f}, txt("t"), []byte{0xff}), wantErr: true},
		{name: "float for an integer", into: op, b: pairs(1, u(6), 9, []byte{0xf9, 0x3c, 0x00}), wantErr: true},
		{name: "float field", into: op, b: pairs(1, u(20), 12, []byte{0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0})},
		{name: "invalid UTF-8 table", into: op, b: pairs(1, u(6), 2, []byte{0x62, 0xff, 0xfe}), wantErr: true},
		{name: "invalid UTF-8 key in a list", into: op, b: pairs(1, u(16), 7, []byte{0x82, 0x61, 0x61, 0x61, 0xc3}), wantErr: true},
		{name: "truncated raw value", into: op, b: pairs(1, u(6), 5, []byte{0x82, 0x01}), wantErr: true},
		{name: "reserved head in a raw value", into: op, b: pairs(1, u(6), 5, []byte{0x1c}), wantErr: true},
		{name: "invalid simple value in a raw value", into: op, b: pairs(1, u(6), 5, []byte{0xf8, 0x10}), wantErr: true},
		{name: "break in a raw value", into: op, b: pairs(1, u(6), 5, []byte{0xff}), wantErr: true},
		{name: "invalid tag content in a raw value", into: op, b: pairs(1, u(6), 5, []byte{0xc0, 0x01}), wantErr: true},
		{name: "self-described raw value", into: op, b: pairs(1, u(6), 5, []byte{0xd9, 0xd9, 0xf7, 0x01})},
		{name: "tagged op", into: op, b: cat([]byte{0xd9, 0xd9, 0xf7}, canonical)},
		{name: "trailing byte", into: op, b: cat(canonical, []byte{0x00}), wantErr: true},
		{name: "truncated", into: op, b: canonical[:len(canonical)-1], wantErr: true},
		{name: "empty message", into: op, b: nil, wantErr: true},
		{name: "code out of range", into: op, b: pairs(1, u(256)), wantErr: true},
		{name: "negative code", into: op, b: pairs(1, neg(0)), wantErr: true},
		{name: "index out of range", into: op, b: pairs(1, u(6), 9, u(math.MaxUint64)), wantErr: true},
		{name: "index below range", into: op, b: pairs(1, u(6), 9, neg(math.MaxUint64)), wantErr: true},
		{name: "negative cursor", into: op, b: pairs(1, u(6), 15, neg(0)), wantErr: true},
		{name: "text for an integer", into: op, b: pairs(1, u(6), 16, txt("1")), wantErr: true},
		{name: "integer for a text", into: op, b: pairs(1, u(6), 2, u(1)), wantErr: true},
		{name: "null list", into: op, b: pairs(1, u(6), 7, []byte{0xf6})},
		{name: "empty list", into: op, b: pairs(1, u(6), 7, []byte{0x80})},
		{name: "empty table name", into: op, b: pairs(1, u(6), 2, txt(""))},
		{name: "false flag", into: op, b: pairs(1, u(6), 14, []byte{0xf4})},
		{name: "zero integer", into: op, b: pairs(1, u(6), 9, u(0))},
		{name: "zero unsigned integer", into: op, b: pairs(1, u(6), 15, u(0))},
		{name: "zero revision", into: res, b: pairs(15, u(0))},
		{name: "unknown key", into: op, b: pairs(1, u(6), 99, u(1))},
		{name: "text key", into: op, b: cat([]byte{0xa2, 0x01, 0x06, 0x61, 0x32}, txt("t"))},
		{name: "no code", into: op, b: pairs(2, txt("t"))},
		{name: "array", into: op, b: []byte{0x81, 0x01}, wantErr: true},
		{name: "array over the limit", into: op, c: tightCodec, b: pairs(1, u(16), 7, keys), wantErr: true},
		{name: "map over the limit", into: op, c: tightCodec, b: pairs(many...), wantErr: true},
		{name: "nesting over the limit", into: rec, c: tightCodec, b: deep, wantErr: true},
		{name: "explicit OK", into: res, b: pairs(1, u(0))},
		{name: "error code out of range", into: res, b: pairs(1, u(300)), wantErr: true},
		{name: "tables", into: res, b: pairs(11, cat([]byte{0x81}, pairs(1, txt("t"), 2, u(1))))},
		{name: "result keys out of order", into: res, b: pairs(4, u(1), 3, []byte{0xf5})},
		{name: "found twice", into: res, b: pairs(3, []byte{0xf5}, 3, []byte{0xf5}), wantErr: true},
		{name: "results then zero revision", into: batch, b: pairs(12, results, 15, u(0))},
		{name: "results with an error code out of range", into: batch, b: pairs(12, cat([]byte{0x81}, pairs(1, u(300)))), wantErr: true},
		{name: "results with a negative cursor", into: batch, b: pairs(12, cat([]byte{0x82}, pairs(3, []byte{0xf5}), pairs(10, neg(4)))), wantErr: true},
		{name: "record without result", into: rec, b: pairs(1, canonical)},
		{name: "record out of order", into: rec, b: pairs(2, []byte{0xa0}, 1, canonical)},
		{name: "record with a null op", into: rec, b: pairs(1, []byte{0xf6}, 2, []byte{0xa0})},
	}
}

// TestDecode_OffShapeFallsBack checks that the direct decoders decline
// what the direct encoders never write, and that decoding such messages
// ends as with the generic decoder alone, with the same error or value.
func TestDecode_OffShapeFallsBack(t *testing.T) {
	for _, s := range offShapes() {
		t.Run(s.name, func(t *testing.T) {
			c := s.c
			if c == nil {
				c = ipc.DefaultCodec
			}
			if decodeFast(c, s.b, s.into()) {
				t.Fatalf("%x read directly", s.b)
			}
			got, want := s.into(), s.into()
			gerr, werr := unmarshalAny(c, s.b, got), c.Unmarshal(s.b, want)
			if (werr != nil) != s.wantErr {
				t.Fatalf("generic decoder: %v, want an error: %v", werr, s.wantErr)
			}
			if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) || !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, %+v\nwant %v, %+v", gerr, got, werr, want)
			}
		})
	}
}

// TestDecode_NonMinimalHeads checks that numbers and lengths written in
// more bytes than needed, which the generic decoder accepts, are read
// the same.
func TestDecode_NonMinimalHeads(t *testing.T) {
	b := []byte{0xb8, 0x03, 0x18, 0x01, 0x19, 0x00, 0x06, 0x18, 0x02, 0x78, 0x01, 't', 0x1a, 0x00, 0x00, 0x00, 0x04, 0x7b, 0, 0, 0, 0, 0, 0, 0, 1, 'k'}
	if !agree(t, ipc.DefaultCodec, b, zero[engine.Op]()) {
		t.Fatalf("%x not read directly", b)
	}
}

// fuzzSeeds adds the encodings of random values and the off-shape
// messages to f's corpus. Large encodings, which slow fuzzing down to a
// crawl, are left out.
func fuzzSeeds(f *testing.F, random func(r *rand.Rand) []byte) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 50; {
		if b := random(r); len(b) <= 4096 {
			f.Add(b)
			n++
		}
	}
	for _, s := range offShapes() {
		f.Add(s.b)
	}
}

// fuzzAgree checks agree with both codecs and a zero destination and
// the others given.
func fuzzAgree[T any](t *testing.T, b []byte, dsts ...func() *T) {
	for _, c := range []*ipc.Codec{ipc.DefaultCodec, tightCodec} {
		agree(t, c, b, zero[T]())
		for _, dst := range dsts {
			agree(t, c, b, dst)
		}
	}
}

// FuzzDecodeOp checks that whatever the direct decoder of ops accepts,
// the generic one accepts and decodes the same.
func FuzzDecodeOp(f *testing.F) {
	fuzzSeeds(f, func(r *rand.Rand) []byte {
		op := randomOp(r, 2)
		b, _ := encodeFor(f, op, func(b []byte) ([]byte, bool) { return appendOp(b, &op) })
		return b
	})
	for _, op := range commonOps(f) {
		b, _ := appendOp(nil, &op)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzAgree[engine.Op](t, b)
	})
}

// FuzzDecodeResult is FuzzDecodeOp for results.
func FuzzDecodeResult(f *testing.F) {
	fuzzSeeds(f, func(r *rand.Rand) []byte {
		res := randomResult(r, 2)
		b, _ := encodeFor(f, res, func(b []byte) ([]byte, bool) { return appendResult(b, &res) })
		return b
	})
	for _, res := range commonResults(f) {
		b, _ := appendResult(nil, &res)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzAgree(t, b, getReply, batchReply)
	})
}

// FuzzDecodeRecord is FuzzDecodeOp for log records.
func FuzzDecodeRecord(f *testing.F) {
	fuzzSeeds(f, func(r *rand.Rand) []byte {
		op, res := randomOp(r, 1), randomResult(r, 1)
		rec := record{Op: op, Res: res}
		b, _ := encodeFor(f, rec, func(b []byte) ([]byte, bool) { return appendRecord(b, &op, &res) })
		return b
	})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzAgree[record](t, b) })
}

// BenchmarkDecodeOp compares the generic and the direct decoding of a
// Set request with a 16-byte value, as the leader receives it.
func BenchmarkDecodeOp(b *testing.B) {
	op := commonOps(b)["set"]
	msg, _ := appendOp(nil, &op)
	var dst engine.Op
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = engine.Op{}
			if err := ipc.DefaultCodec.Unmarshal(msg, &dst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = engine.Op{}
			if !decodeOp(ipc.DefaultCodec, msg, &dst) {
				b.Fatal("declined")
			}
		}
	})
}

// BenchmarkDecodeResult compares the generic and the direct decoding of
// a Get reply into the client's value buffer.
func BenchmarkDecodeResult(b *testing.B) {
	res := commonResults(b)["get"]
	msg, _ := appendResult(nil, &res)
	buf := make(cbor.RawMessage, 0, smallValue)
	var dst engine.Result
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = engine.Result{Value: buf[:0]}
			if err := ipc.DefaultCodec.Unmarshal(msg, &dst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = engine.Result{Value: buf[:0]}
			if !decodeResult(ipc.DefaultCodec, msg, &dst) {
				b.Fatal("declined")
			}
		}
	})
}
