package cyberdb

import (
	"bytes"
	"sync"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// The hottest paths (a client's Get, the leader's handling of a request)
// reuse their operation, result and decoder from pools, so that a call
// allocates little beyond the value it returns.

// exchange is an operation and its result, pooled so that the hottest
// calls do not allocate them.
type exchange struct {
	op  engine.Op
	res engine.Result
	buf bytes.Buffer // the leader encodes res with it
	val []byte       // a client decodes a small value into it; never the engine's
}

// smallValue is the capacity of an exchange's value buffer.
const smallValue = 256

// valueBuffer returns the empty value buffer of x, for a reply's value to
// be decoded into without an allocation. The buffer is only ever
// written by decoding; a value the leader's engine returns replaces it
// and is never kept (see putExchange).
func (x *exchange) valueBuffer() []byte {
	if x.val == nil {
		x.val = make([]byte, 0, smallValue)
	}
	return x.val[:0]
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func getExchange() *exchange { return exchangePool.Get().(*exchange) }

// putExchange recycles x, dropping its references to values.
func putExchange(x *exchange) {
	*x = exchange{val: x.val}
	exchangePool.Put(x)
}

// resultDecoder decodes a reply into a Result straight out of the
// client's buffers. Pooled, so that passing it costs no allocation.
type resultDecoder struct {
	codec *ipc.Codec
	res   *engine.Result
}

var resultPool = sync.Pool{New: func() any { return new(resultDecoder) }}

// DecodeReply implements ipc.Decoder.
func (x *resultDecoder) DecodeReply(body []byte) error {
	if err := unmarshalResult(x.codec, body, x.res); err != nil {
		return &malformedReply{err}
	}
	return nil
}

// malformedReply is a reply that did not decode as a Result.
type malformedReply struct{ err error }

func (e *malformedReply) Error() string { return e.err.Error() }
