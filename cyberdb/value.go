package cyberdb

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/fxamacker/cbor/v2"

	"github.com/cyberdb-go/cyberdb/ipc"
)

// Value is a stored value as read from a table, decoded on demand. The
// zero Value holds nothing; a stored nil is a Value whose IsNil is true.
// Storing a Value stores the value it holds.
type Value struct {
	raw []byte
}

// Decode decodes the value into dst, a non-nil pointer, the way
// encoding/json would: a struct, map, slice, number, string or any.
func (v Value) Decode(dst any) error {
	if v.raw == nil {
		return fmt.Errorf("%w: decode of an empty Value", ErrInvalid)
	}
	return decodeInto(v.raw, dst)
}

// Any decodes the value into the natural Go type: int64, uint64, float64,
// string, []byte, bool, nil, []any or map[string]any.
func (v Value) Any() (any, error) {
	var x any
	err := v.Decode(&x)
	return x, err
}

// IsNil reports whether the stored value is nil.
func (v Value) IsNil() bool {
	return len(v.raw) == 1 && (v.raw[0] == 0xf6 || v.raw[0] == 0xf7)
}

// Bytes returns a copy of the value's CBOR encoding.
func (v Value) Bytes() []byte { return slices.Clone(v.raw) }

// MarshalCBOR returns the value's encoding, so a Value can be stored as is.
func (v Value) MarshalCBOR() ([]byte, error) {
	if v.raw == nil {
		return []byte{0xf6}, nil
	}
	return v.raw, nil
}

// UnmarshalCBOR keeps a copy of b, so a Value can be a decoding target.
func (v *Value) UnmarshalCBOR(b []byte) error {
	v.raw = slices.Clone(b)
	return nil
}

// String returns the value in CBOR diagnostic notation, for debugging.
func (v Value) String() string {
	s, err := cbor.Diagnose(v.raw)
	if err != nil {
		return fmt.Sprintf("<invalid value: %v>", err)
	}
	return s
}

// encode returns the deterministic encoding of v.
func encode(v any) (cbor.RawMessage, error) {
	b, err := ipc.DefaultCodec.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return b, nil
}

// encodeSlice encodes each element of a slice or array.
func encodeSlice(values any) ([]cbor.RawMessage, error) {
	if values == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(values)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return nil, fmt.Errorf("%w: want a slice, got %T", ErrInvalid, values)
	}
	out := make([]cbor.RawMessage, rv.Len())
	for i := range out {
		b, err := encode(rv.Index(i).Interface())
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// encodeMap encodes a map with string keys into parallel slices.
func encodeMap(m any) ([]string, []cbor.RawMessage, error) {
	if m == nil {
		return nil, nil, nil
	}
	rv := reflect.ValueOf(m)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, nil, fmt.Errorf("%w: want a map with string keys, got %T", ErrInvalid, m)
	}
	keys := make([]string, 0, rv.Len())
	vals := make([]cbor.RawMessage, 0, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		b, err := encode(it.Value().Interface())
		if err != nil {
			return nil, nil, fmt.Errorf("key %q: %w", it.Key().String(), err)
		}
		keys = append(keys, it.Key().String())
		vals = append(vals, b)
	}
	return keys, vals, nil
}

// decodeInto decodes raw into dst; a nil dst skips decoding.
func decodeInto(raw []byte, dst any) error {
	if dst == nil {
		return nil
	}
	if err := ipc.DefaultCodec.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: %v", ErrWrongType, err)
	}
	return nil
}

// decodeArray decodes elements into dst (a pointer to a slice or array)
// as one CBOR array, so dst's element type drives the decoding.
func decodeArray(vals []cbor.RawMessage, dst any) error {
	if dst == nil {
		return nil
	}
	b := appendHead(nil, 4, uint64(len(vals)))
	for _, v := range vals {
		b = append(b, v...)
	}
	return decodeInto(b, dst)
}

// decodeMap decodes pairs into dst (a pointer to a map or struct) as one
// CBOR map.
func decodeMap(keys []string, vals []cbor.RawMessage, dst any) error {
	if dst == nil {
		return nil
	}
	b := appendHead(nil, 5, uint64(len(keys)))
	for i, k := range keys {
		b = appendHead(b, 3, uint64(len(k)))
		b = append(b, k...)
		b = append(b, vals[i]...)
	}
	return decodeInto(b, dst)
}

// appendHead appends a CBOR item head of the given major type and length.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
