package ipc

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Limits bound what a decoder accepts from a peer, so that a malformed or
// hostile message costs bounded memory and time.
type Limits struct {
	// MaxMessageSize is the largest frame, in bytes, a peer may send.
	MaxMessageSize int
	// MaxNestedLevels bounds the nesting of CBOR arrays, maps and tags.
	MaxNestedLevels int
	// MaxArrayElements bounds the length of one CBOR array.
	MaxArrayElements int
	// MaxMapPairs bounds the number of pairs in one CBOR map.
	MaxMapPairs int
}

// DefaultLimits returns the limits used when none are given: 64 MiB frames,
// 32 levels of nesting, and 4Mi elements per array or map.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageSize:   64 << 20,
		MaxNestedLevels:  32,
		MaxArrayElements: 4 << 20,
		MaxMapPairs:      4 << 20,
	}
}

// Validate reports whether every limit is within the range the codec supports.
func (l Limits) Validate() error {
	switch {
	case l.MaxMessageSize < 1024 || l.MaxMessageSize > 1<<30:
		return fmt.Errorf("cyberdb: MaxMessageSize %d out of range [1024, 1GiB]", l.MaxMessageSize)
	case l.MaxNestedLevels < 4 || l.MaxNestedLevels > 65535:
		return fmt.Errorf("cyberdb: MaxNestedLevels %d out of range [4, 65535]", l.MaxNestedLevels)
	case l.MaxArrayElements < 16:
		return fmt.Errorf("cyberdb: MaxArrayElements %d below 16", l.MaxArrayElements)
	case l.MaxMapPairs < 16:
		return fmt.Errorf("cyberdb: MaxMapPairs %d below 16", l.MaxMapPairs)
	}
	return nil
}

// Codec encodes values deterministically (equal values give equal bytes)
// and decodes them within Limits. A Codec is safe for concurrent use.
type Codec struct {
	enc cbor.UserBufferEncMode
	dec cbor.DecMode
}

// NewCodec returns a Codec that enforces l when decoding.
func NewCodec(l Limits) (*Codec, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	enc, err := cbor.CoreDetEncOptions().UserBufferEncMode()
	if err != nil {
		return nil, err
	}
	dec, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  l.MaxNestedLevels,
		MaxArrayElements: l.MaxArrayElements,
		MaxMapPairs:      l.MaxMapPairs,
		IndefLength:      cbor.IndefLengthForbidden,
		IntDec:           cbor.IntDecConvertSignedOrBigInt,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		return nil, err
	}
	return &Codec{enc: enc, dec: dec}, nil
}

// DefaultCodec is a Codec with DefaultLimits.
var DefaultCodec = mustCodec(DefaultLimits())

func mustCodec(l Limits) *Codec {
	c, err := NewCodec(l)
	if err != nil {
		panic(err)
	}
	return c
}

// Marshal returns the deterministic CBOR encoding of v.
func (c *Codec) Marshal(v any) ([]byte, error) {
	b, err := c.enc.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cyberdb: encode %T: %w", v, err)
	}
	return b, nil
}

// MarshalTo appends the deterministic CBOR encoding of v to buf.
func (c *Codec) MarshalTo(buf *bytes.Buffer, v any) error {
	if err := c.enc.MarshalToBuffer(v, buf); err != nil {
		return fmt.Errorf("cyberdb: encode %T: %w", v, err)
	}
	return nil
}

// Unmarshal decodes exactly one CBOR item from b into v, within the limits.
func (c *Codec) Unmarshal(b []byte, v any) error {
	if err := c.dec.Unmarshal(b, v); err != nil {
		return fmt.Errorf("cyberdb: decode into %T: %w", v, err)
	}
	return nil
}

// Wellformed reports whether b is exactly one well-formed CBOR item within
// the limits.
func (c *Codec) Wellformed(b []byte) error {
	if err := c.dec.Wellformed(b); err != nil {
		return fmt.Errorf("cyberdb: malformed CBOR: %w", err)
	}
	return nil
}
