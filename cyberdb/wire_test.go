package cyberdb

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// TestWire_MatchesGenericEncoder checks that the direct encoders write
// exactly the bytes of the generic deterministic encoder, and hand the
// cases they do not cover to it.
func TestWire_MatchesGenericEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		op, res := randomOp(r, 2), randomResult(r, 2)
		check(t, i, "op", op, func(b []byte) ([]byte, bool) { return appendOp(b, &op) })
		check(t, i, "result", res, func(b []byte) ([]byte, bool) { return appendResult(b, &res) })
		rec := record{Op: op, Res: res}
		check(t, i, "record", rec, func(b []byte) ([]byte, bool) { return appendRecord(b, &op, &res) })
	}
}

func check(t *testing.T, i int, what string, v any, fast func([]byte) ([]byte, bool)) {
	t.Helper()
	want, err := ipc.DefaultCodec.Marshal(v)
	if err != nil {
		t.Fatalf("%d %s: %v", i, what, err)
	}
	prefix := []byte("prefix")
	got, ok := fast(prefix)
	if !ok {
		if !bytes.Equal(got, prefix) {
			t.Fatalf("%d %s: declined but wrote %x", i, what, got)
		}
		return
	}
	if !bytes.Equal(got[len(prefix):], want) || !bytes.Equal(got[:len(prefix)], prefix) {
		t.Fatalf("%d %s: %+v\n got %x\nwant %x", i, what, v, got[len(prefix):], want)
	}
}

func randomOp(r *rand.Rand, depth int) engine.Op {
	op := engine.Op{Code: engine.Code(r.IntN(70))}
	maybe(r, func() { op.Table = randomText(r) })
	maybe(r, func() { op.Kind = engine.Kind(r.IntN(3)) })
	maybe(r, func() { op.Key = randomText(r) })
	maybe(r, func() { op.Value = randomRaw(r) })
	maybe(r, func() { op.Old = randomRaw(r) })
	maybe(r, func() { op.Keys = randomTexts(r) })
	maybe(r, func() { op.Values = randomRaws(r) })
	maybe(r, func() { op.Index = randomInt(r) })
	maybe(r, func() { op.Stop = randomInt(r) })
	maybe(r, func() { op.Delta = randomInt(r) })
	maybe(r, func() { op.Float = r.NormFloat64() })
	maybe(r, func() { op.Field = randomText(r) })
	maybe(r, func() { op.Reverse = r.IntN(2) == 0 })
	maybe(r, func() { op.Cursor = randomUint(r) })
	maybe(r, func() { op.Limit = randomInt(r) })
	maybe(r, func() { op.Client, op.Seq, op.Ack = randomUint(r), randomUint(r), randomUint(r) })
	maybe(r, func() { op.TTL, op.Wait, op.Now, op.PID = randomInt(r), randomInt(r), randomInt(r), randomInt(r) })
	maybe(r, func() { op.Version, op.Tag, op.Rev = randomUint(r), randomUint(r), randomUint(r) })
	maybe(r, func() { op.Prefix = r.IntN(2) == 0 })
	if depth > 0 && r.IntN(4) == 0 {
		for range r.IntN(4) {
			op.Ops = append(op.Ops, randomOp(r, depth-1))
		}
	}
	return op
}

func randomResult(r *rand.Rand, depth int) engine.Result {
	var res engine.Result
	maybe(r, func() { res.Err = engine.ErrCode(r.IntN(20)) })
	maybe(r, func() { res.Version, res.Rev = randomUint(r), randomUint(r) })
	maybe(r, func() { res.Msg = randomText(r) })
	maybe(r, func() { res.Found = r.IntN(2) == 0 })
	maybe(r, func() { res.Value = randomRaw(r) })
	maybe(r, func() { res.Key = randomText(r) })
	maybe(r, func() { res.Keys = randomTexts(r) })
	maybe(r, func() { res.Values = randomRaws(r) })
	maybe(r, func() { res.Int = randomInt(r) })
	maybe(r, func() { res.Float = r.NormFloat64() })
	maybe(r, func() { res.Cursor = randomUint(r) })
	maybe(r, func() { res.Tables = []engine.TableInfo{{Name: randomText(r), Kind: engine.KindDict}} })
	if depth > 0 && r.IntN(4) == 0 {
		for range r.IntN(4) {
			res.Results = append(res.Results, randomResult(r, depth-1))
		}
	}
	return res
}

// maybe runs f one time in three.
func maybe(r *rand.Rand, f func()) {
	if r.IntN(3) == 0 {
		f()
	}
}

// randomInt returns integers around every boundary of the encoding.
func randomInt(r *rand.Rand) int64 {
	v := int64(randomUint(r) >> r.IntN(2))
	if r.IntN(2) == 0 {
		return -v
	}
	if r.IntN(20) == 0 {
		return math.MinInt64
	}
	return v
}

func randomUint(r *rand.Rand) uint64 {
	bounds := []uint64{0, 1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxUint64}
	if r.IntN(2) == 0 {
		return bounds[r.IntN(len(bounds))]
	}
	return r.Uint64() >> r.IntN(64)
}

func randomText(r *rand.Rand) string {
	sizes := []int{0, 1, 23, 24, 255, 256, 70000}
	return strings.Repeat("é", sizes[r.IntN(len(sizes))]/2+r.IntN(2))
}

func randomTexts(r *rand.Rand) []string {
	var out []string
	for range r.IntN(30) {
		out = append(out, randomText(r))
	}
	return out
}

func randomRaw(r *rand.Rand) cbor.RawMessage {
	values := []any{nil, 0, -1, "text", []byte("bytes"), 1.5, map[string]any{"a": 1}, []any{1, "x"}, true}
	b, err := ipc.DefaultCodec.Marshal(values[r.IntN(len(values))])
	if err != nil {
		panic(err)
	}
	return b
}

func randomRaws(r *rand.Rand) []cbor.RawMessage {
	var out []cbor.RawMessage
	for range r.IntN(30) {
		out = append(out, randomRaw(r))
	}
	return out
}
