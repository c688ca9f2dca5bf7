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
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func getExchange() *exchange { return exchangePool.Get().(*exchange) }

// putExchange recycles x, dropping its references to values.
func putExchange(x *exchange) {
	*x = exchange{}
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
	if err := x.codec.Unmarshal(body, x.res); err != nil {
		return &malformedReply{err}
	}
	return nil
}

// malformedReply is a reply that did not decode as a Result.
type malformedReply struct{ err error }

func (e *malformedReply) Error() string { return e.err.Error() }
