package engine

import (
	"encoding/binary"
	"math"
	"math/big"
)

// dictIncr adds op.Delta (Incr) or op.Float (IncrFloat) to the number
// stored under op.Key, which starts at 0 when missing.
func (e *Engine) dictIncr(op *Op, res *Result) {
	if !checkKey(op.Key, res) {
		return
	}
	if op.Code == OpDictIncrFloat && (math.IsNaN(op.Float) || math.IsInf(op.Float, 0)) {
		invalid(res, "increment %v is not a finite number", op.Float)
		return
	}
	t := e.write(op, KindDict, res)
	if t == nil {
		return
	}
	old, ok := e.lapse(t, op.Key)
	var v []byte
	if op.Code == OpDictIncr {
		v = incrInt(op, old.V, ok, res)
	} else {
		v = e.incrFloat(op, old.V, ok, res)
	}
	if v != nil {
		e.replaceKey(t, op.Key, v, keptDeadline(t, op, old, ok), old, ok)
		res.Version = t.cur
	}
	e.done(t, op, res)
}

// keptDeadline is the deadline of a number incremented: the one it had,
// or for a number the increment creates, the deadline of a new key.
func keptDeadline(t *table, op *Op, old Entry, ok bool) int64 {
	if ok {
		return old.Exp
	}
	return deadline(t, op)
}

// incrInt returns the encoding of old+op.Delta and fills res.Int, or
// returns nil after recording an error.
func incrInt(op *Op, old []byte, ok bool, res *Result) []byte {
	var cur int64
	if ok {
		n, fits, isInt := cborInt(old)
		switch {
		case !isInt:
			notA(res, op.Key, old, "an integer")
			return nil
		case !fits:
			return incrBig(op, old, res)
		}
		cur = n
	}
	sum := cur + op.Delta
	if (op.Delta > 0 && sum < cur) || (op.Delta < 0 && sum > cur) {
		fail(res, ErrOverflow, "incrementing %d by %d overflows int64", cur, op.Delta)
		return nil
	}
	res.Int = sum
	return appendInt(make([]byte, 0, 9), sum)
}

// incrBig is incrInt for a stored integer outside the int64 range.
func incrBig(op *Op, old []byte, res *Result) []byte {
	x := bigInt(old)
	sum := new(big.Int).Add(x, big.NewInt(op.Delta))
	if !sum.IsInt64() {
		fail(res, ErrOverflow, "incrementing %s by %d overflows int64", x, op.Delta)
		return nil
	}
	res.Int = sum.Int64()
	return appendInt(make([]byte, 0, 9), res.Int)
}

// incrFloat returns the encoding of old+op.Float and fills res.Float, or
// returns nil after recording an error.
func (e *Engine) incrFloat(op *Op, old []byte, ok bool, res *Result) []byte {
	var cur float64
	if ok {
		f, isNum := e.cborFloat(old)
		if !isNum {
			notA(res, op.Key, old, "a number")
			return nil
		}
		cur = f
	}
	sum := cur + op.Float
	if math.IsInf(sum, 0) && !math.IsInf(cur, 0) {
		fail(res, ErrOverflow, "incrementing %g by %g overflows float64", cur, op.Float)
		return nil
	}
	b, err := e.codec.Marshal(sum)
	if err != nil {
		fail(res, ErrInternal, "encode %g: %v", sum, err)
		return nil
	}
	res.Float = sum
	return b
}

// notA records that the value stored under key is not of the wanted type.
func notA(res *Result, key string, v []byte, want string) {
	fail(res, ErrWrongType, "value of key %q is %s, not %s", key, cborKind(v), want)
}

// cborInt decodes b as a CBOR integer (major type 0 or 1). isInt is false
// when b is anything else; fits is false when it is outside int64.
func cborInt(b []byte) (n int64, fits, isInt bool) {
	if len(b) == 0 || b[0]>>5 > 1 {
		return 0, false, false
	}
	u, ok := cborArg(b)
	if !ok {
		return 0, false, false
	}
	if u > math.MaxInt64 {
		return 0, false, true
	}
	if b[0]>>5 == 1 {
		return -1 - int64(u), true, true
	}
	return int64(u), true, true
}

// bigInt decodes the CBOR integer b, which cborInt accepted, as a big.Int.
func bigInt(b []byte) *big.Int {
	u, _ := cborArg(b)
	x := new(big.Int).SetUint64(u)
	if b[0]>>5 == 1 {
		x.Neg(x).Sub(x, big.NewInt(1))
	}
	return x
}

// cborArg returns the argument of the head that is all of b.
func cborArg(b []byte) (uint64, bool) {
	ai := b[0] & 31
	switch {
	case ai < 24 && len(b) == 1:
		return uint64(ai), true
	case ai == 24 && len(b) == 2:
		return uint64(b[1]), true
	case ai == 25 && len(b) == 3:
		return uint64(binary.BigEndian.Uint16(b[1:])), true
	case ai == 26 && len(b) == 5:
		return uint64(binary.BigEndian.Uint32(b[1:])), true
	case ai == 27 && len(b) == 9:
		return binary.BigEndian.Uint64(b[1:]), true
	}
	return 0, false
}

// appendInt appends the shortest (deterministic) CBOR encoding of n.
func appendInt(dst []byte, n int64) []byte {
	major, u := byte(0), uint64(n)
	if n < 0 {
		major, u = 1<<5, uint64(^n)
	}
	switch {
	case u < 24:
		return append(dst, major|byte(u))
	case u <= math.MaxUint8:
		return append(dst, major|24, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, major|25), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, major|26), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, major|27), u)
}

// cborFloat decodes b as a number: a CBOR integer or float.
func (e *Engine) cborFloat(b []byte) (float64, bool) {
	if n, fits, isInt := cborInt(b); isInt {
		if fits {
			return float64(n), true
		}
		f, _ := new(big.Float).SetInt(bigInt(b)).Float64()
		return f, true
	}
	if len(b) == 0 || b[0]>>5 != 7 || b[0]&31 < 25 || b[0]&31 > 27 {
		return 0, false
	}
	var f float64
	return f, e.codec.Unmarshal(b, &f) == nil
}

// cborKind names the type of the CBOR item b, for messages.
func cborKind(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch major, ai := b[0]>>5, b[0]&31; {
	case major == 7 && (ai == 20 || ai == 21):
		return "a bool"
	case major == 7 && ai == 22:
		return "null"
	case major == 7 && ai >= 25 && ai <= 27:
		return "a float"
	default:
		return majorNames[major]
	}
}

// majorNames names the CBOR major types.
var majorNames = [8]string{
	"an integer", "an integer", "a byte string", "a string",
	"an array", "a map", "a tagged value", "a simple value",
}
