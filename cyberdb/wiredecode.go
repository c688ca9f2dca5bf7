package cyberdb

import (
	"math"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// Every request and reply is decoded as well as encoded, and every log
// record when the log is replayed. The generic decoder fills the structs
// by reflection; these functions read the bytes the direct encoders of
// wire.go write (a definite-length map, unsigned keys in increasing
// order, empty fields omitted) straight into them. Anything else (keys
// out of order, an indefinite length, a float, a tag, an empty field, a
// number out of its field's range, invalid UTF-8) makes them decline and
// reset the destination, and the generic decoder decides, so they never
// accept what it rejects nor decode differently. The codec's Wellformed,
// run first, applies the limits and the syntax rules the generic decoder
// starts with; its MaxNestedLevels bounds how deep the readers of nested
// ops and results recurse. wiredecode_test.go checks that both agree.

// More CBOR major types (see wire.go).
const (
	majorBytes = 2
	majorTag   = 6
)

// unmarshalOp decodes a request into op, which must be zero.
func unmarshalOp(c *ipc.Codec, b []byte, op *engine.Op) error {
	if decodeOp(c, b, op) {
		return nil
	}
	return c.Unmarshal(b, op)
}

// unmarshalResult decodes a reply into res, which must be zero but for
// an empty value buffer and emptied results (see decodeResult).
func unmarshalResult(c *ipc.Codec, b []byte, res *engine.Result) error {
	if decodeResult(c, b, res) {
		return nil
	}
	return c.Unmarshal(b, res)
}

// unmarshalRecord decodes a log record into rec, which must be zero.
func unmarshalRecord(c *ipc.Codec, b []byte, rec *record) error {
	if decodeRecord(c, b, rec) {
		return nil
	}
	return c.Unmarshal(b, rec)
}

// decodeOp decodes b into op as c.Unmarshal would, if b is an op as
// appendOp writes it, and reports whether it did. op must be zero, as
// the leader's pooled request is; when it declines, op is zero again.
func decodeOp(c *ipc.Codec, b []byte, op *engine.Op) bool {
	if c.Wellformed(b) != nil {
		return false
	}
	r := wireReader{b: b}
	if r.op(op) && r.end() {
		return true
	}
	*op = engine.Op{}
	return false
}

// decodeResult decodes b into res as c.Unmarshal would, if b is a result
// as appendResult writes it, and reports whether it did. res must be
// zero but for two slices of length 0, whose storage is reused as the
// generic decoder reuses it: Value, a client's value buffer, and
// Results, a batch's results, which must all be zero up to its capacity.
// When it declines, res is back as it was.
func decodeResult(c *ipc.Codec, b []byte, res *engine.Result) bool {
	if c.Wellformed(b) != nil {
		return false
	}
	val, rs := res.Value, res.Results
	r := wireReader{b: b}
	if r.result(res) && r.end() {
		return true
	}
	clear(rs[:cap(rs)])
	*res = engine.Result{Value: val, Results: rs}
	return false
}

// decodeRecord decodes b into rec as c.Unmarshal would, if b is a log
// record as appendRecord writes it, and reports whether it did. rec must
// be zero; when it declines, rec is zero again.
func decodeRecord(c *ipc.Codec, b []byte, rec *record) bool {
	if c.Wellformed(b) != nil {
		return false
	}
	r := wireReader{b: b}
	if r.record(rec) && r.end() {
		return true
	}
	*rec = record{}
	return false
}

// copyRaw returns src copied into the storage of dst, as
// cbor.RawMessage.UnmarshalCBOR does.
func copyRaw(dst, src cbor.RawMessage) cbor.RawMessage {
	if cap(dst) < len(src) {
		dst = make(cbor.RawMessage, len(src))
	}
	dst = dst[:len(src)]
	copy(dst, src)
	return dst
}

// wireReader reads the items of a message in order into a destination
// that holds no data (see decodeResult). What it reads shares nothing
// with the message.
type wireReader struct {
	b   []byte
	off int
}

// end reports whether the whole message has been read.
func (r *wireReader) end() bool { return r.off == len(r.b) }

// record reads a log record: a map of the op and its result.
func (r *wireReader) record(rec *record) bool {
	n, ok := r.mapHead()
	return ok && n == 2 &&
		r.key(0) == 1 && r.op(&rec.Op) &&
		r.key(1) == 2 && r.result(&rec.Res)
}

// op reads an op's map into op, which is zero. Batches and transactions
// nest ops; Wellformed, run first, bounds how deep.
func (r *wireReader) op(op *engine.Op) bool {
	n, ok := r.mapHead()
	if !ok || n == 0 || r.key(0) != 1 {
		return false
	}
	code, ok := r.small(true)
	if !ok {
		return false
	}
	op.Code = engine.Code(code)
	for k := uint64(1); n > 1; n-- {
		if k = r.key(k); !r.opField(op, k) {
			return false
		}
	}
	return true
}

// opField reads the value of op's field k (not 1, read by op).
func (r *wireReader) opField(op *engine.Op, k uint64) bool {
	switch k {
	case 2:
		return r.text(&op.Table)
	case 3:
		kind, ok := r.small(false)
		op.Kind = engine.Kind(kind)
		return ok
	case 4:
		return r.text(&op.Key)
	case 5:
		return r.raw(&op.Value)
	case 6:
		return r.raw(&op.Old)
	case 7:
		return array(r, &op.Keys, r.textAny)
	case 8:
		return array(r, &op.Values, r.raw)
	case 9:
		return r.int(&op.Index)
	case 10:
		return r.int(&op.Stop)
	case 11:
		return r.int(&op.Delta)
	case 13:
		return r.text(&op.Field)
	case 14:
		return r.flag(&op.Reverse)
	case 15:
		return r.uint(&op.Cursor)
	case 16:
		return r.int(&op.Limit)
	case 17:
		return r.uint(&op.Client)
	case 18:
		return r.uint(&op.Seq)
	case 19:
		return r.uint(&op.Ack)
	case 20:
		return array(r, &op.Ops, r.op)
	}
	return r.opTail(op, k)
}

// opTail reads the value of op's field k, one of the last ones.
func (r *wireReader) opTail(op *engine.Op, k uint64) bool {
	switch k {
	case 21:
		return r.int(&op.TTL)
	case 22:
		return r.uint(&op.Version)
	case 23:
		return r.int(&op.Wait)
	case 24:
		return r.uint(&op.Tag)
	case 25:
		return r.flag(&op.Prefix)
	case 26:
		return r.int(&op.Now)
	case 27:
		return r.uint(&op.Rev)
	case 28:
		return r.int(&op.PID)
	}
	return false // 12 (Float) or unknown
}

// result reads a result's map into res, which is zero. Results nest as
// ops do.
func (r *wireReader) result(res *engine.Result) bool {
	n, ok := r.mapHead()
	for k := uint64(0); ok && n > 0; n-- {
		k = r.key(k)
		ok = r.resultField(res, k)
	}
	return ok
}

// resultField reads the value of res's field k.
func (r *wireReader) resultField(res *engine.Result, k uint64) bool {
	switch k {
	case 1:
		code, ok := r.small(false)
		res.Err = engine.ErrCode(code)
		return ok
	case 2:
		return r.text(&res.Msg)
	case 3:
		return r.flag(&res.Found)
	case 4:
		return r.raw(&res.Value)
	case 5:
		return r.text(&res.Key)
	case 6:
		return array(r, &res.Keys, r.textAny)
	case 7:
		return array(r, &res.Values, r.raw)
	case 8:
		return r.int(&res.Int)
	case 10:
		return r.uint(&res.Cursor)
	case 12:
		return array(r, &res.Results, r.result)
	case 13:
		return r.uint(&res.Version)
	case 15:
		return r.uint(&res.Rev)
	}
	return false // Float, Tables, Events or unknown
}

// head reads the head of an item of definite length: its major type and
// its argument (a number, a length, or a float's or simple value's bits).
func (r *wireReader) head() (major byte, arg uint64, ok bool) {
	if r.off >= len(r.b) {
		return 0, 0, false
	}
	c := r.b[r.off]
	major, ai := c>>5, c&0x1f
	if ai < 24 {
		r.off++
		return major, uint64(ai), true
	}
	if ai > 27 { // indefinite length, break code or reserved
		return 0, 0, false
	}
	n := 1 << (ai - 24)
	if len(r.b)-r.off-1 < n {
		return 0, 0, false
	}
	for _, c := range r.b[r.off+1 : r.off+1+n] {
		arg = arg<<8 | uint64(c)
	}
	r.off += 1 + n
	return major, arg, true
}

// mapHead reads the head of a map and returns its number of pairs.
func (r *wireReader) mapHead() (uint64, bool) {
	major, n, ok := r.head()
	return n, ok && major == majorMap
}

// arrayLen reads the head of an array and returns its length, or 0 if
// the next item is not an array or is longer than what remains of the
// message.
func (r *wireReader) arrayLen() int {
	major, n, ok := r.head()
	if !ok || major != majorArray || n > uint64(len(r.b)-r.off) {
		return 0
	}
	return int(n)
}

// key reads a map key and returns it, or 0 unless it is an unsigned
// integer above prev: keys come in increasing order, which rules out
// duplicates.
func (r *wireReader) key(prev uint64) uint64 {
	major, k, ok := r.head()
	if !ok || major != majorUint || k <= prev {
		return 0
	}
	return k
}

// uint reads a positive unsigned integer into v.
func (r *wireReader) uint(v *uint64) bool {
	major, n, ok := r.head()
	*v = n
	return ok && major == majorUint && n != 0
}

// small reads an unsigned integer of at most 255, a positive one unless
// zero is allowed, for the fields of byte-sized types.
func (r *wireReader) small(zero bool) (uint8, bool) {
	major, n, ok := r.head()
	return uint8(n), ok && major == majorUint && n <= math.MaxUint8 && (n != 0 || zero)
}

// int reads a non-zero integer within the range of int64 into v.
func (r *wireReader) int(v *int64) bool {
	major, n, ok := r.head()
	switch {
	case !ok || n > math.MaxInt64:
		return false
	case major == majorUint:
		*v = int64(n)
		return n != 0
	case major == majorNeg:
		*v = -1 - int64(n)
		return true
	}
	return false
}

// flag reads true into v. False, which the encoder omits, is declined.
func (r *wireReader) flag(v *bool) bool {
	if r.off >= len(r.b) || r.b[r.off] != 0xf5 {
		return false
	}
	r.off++
	*v = true
	return true
}

// textBytes reads a text string of valid UTF-8 and returns its bytes,
// which share the message's.
func (r *wireReader) textBytes() ([]byte, bool) {
	major, n, ok := r.head()
	if !ok || major != majorText || n > uint64(len(r.b)-r.off) {
		return nil, false
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, utf8.Valid(b)
}

// text reads a non-empty text string into s.
func (r *wireReader) text(s *string) bool {
	b, ok := r.textBytes()
	if !ok || len(b) == 0 {
		return false
	}
	*s = string(b)
	return true
}

// textAny reads a text string, empty or not, into s.
func (r *wireReader) textAny(s *string) bool {
	b, ok := r.textBytes()
	*s = string(b)
	return ok
}

// raw copies any item but a tagged one into v's storage. The generic
// decoder checks the tags in front of a raw value and drops some, so
// those are left to it.
func (r *wireReader) raw(v *cbor.RawMessage) bool {
	start := r.off
	if start >= len(r.b) || r.b[start]>>5 == majorTag || !r.skip() {
		return false
	}
	*v = copyRaw(*v, r.b[start:r.off])
	return true
}

// array reads a non-empty array into dst, each element with read. As
// the generic decoder does, it reuses the storage of dst when it is
// large enough (the elements there are zero: see decodeResult).
func array[T any](r *wireReader, dst *[]T, read func(*T) bool) bool {
	n := r.arrayLen()
	if n == 0 {
		return false
	}
	s := *dst
	if cap(s) < n {
		s = make([]T, n)
	}
	s = s[:n]
	for i := range s {
		if !read(&s[i]) {
			return false
		}
	}
	*dst = s
	return true
}

// skip passes over one item of definite length. It counts the items
// left to pass: an array adds its elements, a map its keys and values, a
// tag its content. Every item takes a byte at least, which bounds the
// count.
func (r *wireReader) skip() bool {
	for left := uint64(1); left > 0; left-- {
		major, n, ok := r.head()
		rest := uint64(len(r.b) - r.off)
		switch {
		case !ok:
			return false
		case major == majorBytes || major == majorText:
			if n > rest {
				return false
			}
			r.off += int(n)
		case major == majorArray || major == majorMap:
			if n > rest {
				return false
			}
			if major == majorMap {
				n *= 2 // below 2^63: it does not wrap
			}
			left += n
		case major == majorTag:
			left++
		}
	}
	return true
}
