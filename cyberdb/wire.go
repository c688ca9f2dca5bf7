package cyberdb

import (
	"github.com/fxamacker/cbor/v2"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Every call encodes an Op and a Result, and every write a log record.
// The generic encoder walks them by reflection; these functions write the
// same bytes (the deterministic encoding, keys in increasing order, empty
// fields omitted) directly, several times faster. A message with a float
// or a table list, which are rare, goes to the generic encoder, so the
// rules for those are its own. wire_test.go checks that both agree.

// CBOR major types (see appendHead in value.go).
const (
	majorUint  = 0
	majorNeg   = 1
	majorText  = 3
	majorArray = 4
	majorMap   = 5
)

// fields appends map entries in key order, counting them so that the map
// head can be written in front once they are known.
type fields struct {
	b []byte
	n uint64
}

func (f *fields) key(k uint64) { f.b = appendHead(f.b, majorUint, k); f.n++ }

func (f *fields) uint(k, v uint64) {
	if v != 0 {
		f.key(k)
		f.b = appendHead(f.b, majorUint, v)
	}
}

func (f *fields) int(k uint64, v int64) {
	switch {
	case v > 0:
		f.key(k)
		f.b = appendHead(f.b, majorUint, uint64(v))
	case v < 0:
		f.key(k)
		f.b = appendHead(f.b, majorNeg, uint64(-(v + 1)))
	}
}

func (f *fields) text(k uint64, s string) {
	if s != "" {
		f.key(k)
		f.b = append(appendHead(f.b, majorText, uint64(len(s))), s...)
	}
}

func (f *fields) bool(k uint64, v bool) {
	if v {
		f.key(k)
		f.b = append(f.b, 0xf5)
	}
}

func (f *fields) raw(k uint64, v cbor.RawMessage) {
	if len(v) > 0 {
		f.key(k)
		f.b = append(f.b, v...)
	}
}

func (f *fields) texts(k uint64, vs []string) {
	if len(vs) > 0 {
		f.key(k)
		f.b = appendHead(f.b, majorArray, uint64(len(vs)))
		for _, s := range vs {
			f.b = append(appendHead(f.b, majorText, uint64(len(s))), s...)
		}
	}
}

func (f *fields) raws(k uint64, vs []cbor.RawMessage) {
	if len(vs) > 0 {
		f.key(k)
		f.b = appendHead(f.b, majorArray, uint64(len(vs)))
		for _, v := range vs {
			f.b = append(f.b, v...)
		}
	}
}

// mapHead is the room reserved for a map's head: its entries are
// written after it, then the head, once their number is known, is
// written in front of them and the gap closed.
const mapHead = 9

// beginMap starts a map at the end of dst.
func beginMap(dst []byte) fields {
	return fields{b: append(dst, 0, 0, 0, 0, 0, 0, 0, 0, 0)}
}

// end completes the map begun at start and returns the bytes.
func (f *fields) end(start int) []byte {
	var head [mapHead]byte
	h := appendHead(head[:0], majorMap, f.n)
	n := copy(f.b[start:], h)
	return append(f.b[:start+n], f.b[start+mapHead:]...)
}

// appendOp appends the encoding of op, or reports false if the generic
// encoder must do it.
func appendOp(dst []byte, op *engine.Op) ([]byte, bool) {
	if !fastOp(op) {
		return dst, false
	}
	return opMap(dst, op), true
}

// opMap appends op as a map.
func opMap(dst []byte, op *engine.Op) []byte {
	f := beginMap(dst)
	opFields(&f, op)
	return f.end(len(dst))
}

// fastOp reports whether appendOp can encode op and its nested ops.
func fastOp(op *engine.Op) bool {
	if op.Float != 0 {
		return false
	}
	for i := range op.Ops {
		if !fastOp(&op.Ops[i]) {
			return false
		}
	}
	return true
}

func opFields(f *fields, op *engine.Op) {
	f.key(1) // Code is never omitted
	f.b = appendHead(f.b, majorUint, uint64(op.Code))
	f.text(2, op.Table)
	f.uint(3, uint64(op.Kind))
	f.text(4, op.Key)
	f.raw(5, op.Value)
	f.raw(6, op.Old)
	f.texts(7, op.Keys)
	f.raws(8, op.Values)
	f.int(9, op.Index)
	f.int(10, op.Stop)
	f.int(11, op.Delta)
	f.text(13, op.Field)
	f.bool(14, op.Reverse)
	f.uint(15, op.Cursor)
	f.int(16, op.Limit)
	f.uint(17, op.Client)
	f.uint(18, op.Seq)
	f.uint(19, op.Ack)
	if len(op.Ops) > 0 {
		f.key(20)
		f.b = appendHead(f.b, majorArray, uint64(len(op.Ops)))
		for i := range op.Ops {
			f.b = opMap(f.b, &op.Ops[i])
		}
	}
	f.int(21, op.TTL)
	f.uint(22, op.Version)
	f.int(23, op.Wait)
	f.uint(24, op.Tag)
	f.bool(25, op.Prefix)
	f.int(26, op.Now)
	f.uint(27, op.Rev)
	f.int(28, op.PID)
}

// appendResult appends the encoding of res, or reports false if the
// generic encoder must do it.
func appendResult(dst []byte, res *engine.Result) ([]byte, bool) {
	if !fastResult(res) {
		return dst, false
	}
	return resultMap(dst, res), true
}

// resultMap appends res as a map.
func resultMap(dst []byte, res *engine.Result) []byte {
	f := beginMap(dst)
	resultFields(&f, res)
	return f.end(len(dst))
}

// fastResult reports whether appendResult can encode res and its nested
// results.
func fastResult(res *engine.Result) bool {
	if res.Float != 0 || len(res.Tables) > 0 || len(res.Events) > 0 {
		return false
	}
	for i := range res.Results {
		if !fastResult(&res.Results[i]) {
			return false
		}
	}
	return true
}

func resultFields(f *fields, res *engine.Result) {
	f.uint(1, uint64(res.Err))
	f.text(2, res.Msg)
	f.bool(3, res.Found)
	f.raw(4, res.Value)
	f.text(5, res.Key)
	f.texts(6, res.Keys)
	f.raws(7, res.Values)
	f.int(8, res.Int)
	f.uint(10, res.Cursor)
	if len(res.Results) > 0 {
		f.key(12)
		f.b = appendHead(f.b, majorArray, uint64(len(res.Results)))
		for i := range res.Results {
			f.b = resultMap(f.b, &res.Results[i])
		}
	}
	f.uint(13, res.Version)
	f.uint(15, res.Rev)
}

// appendRecord appends the encoding of a log record, or reports false if
// the generic encoder must do it.
func appendRecord(dst []byte, op *engine.Op, res *engine.Result) ([]byte, bool) {
	if !fastOp(op) || !fastResult(res) {
		return dst, false
	}
	f := beginMap(dst)
	f.key(1)
	f.b = opMap(f.b, op)
	f.key(2)
	f.b = resultMap(f.b, res)
	return f.end(len(dst)), true
}
