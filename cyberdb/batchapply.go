package cyberdb

import (
	"cmp"
	"slices"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// maxBatch is the most operations a batch may hold: far more than a
// round trip needs to pay off, few enough that one batch cannot keep a
// stream of the leader busy for long.
const maxBatch = 1 << 16

// applyBatch applies the operations of a batch in order, each as if it
// came alone: reads go straight to the engine and writes are deduplicated
// by their own sequence numbers, so a resent batch applies each write
// once. The batch's LSN is the highest of its writes', so that its reply
// waits until every one of them is durable.
func (l *leader) applyBatch(op *engine.Op, res *engine.Result, from caller) {
	n := len(op.Ops)
	if n == 0 || n > maxBatch {
		fail(res, engine.ErrInvalid, "a batch holds 1 to %d operations, not %d", maxBatch, n)
		return
	}
	// Reuse the caller's results, so a leader's own batches allocate none.
	res.Results = slices.Grow(res.Results[:0], n)[:n]
	clear(res.Results)
	for i := range op.Ops {
		sub, r := &op.Ops[i], &res.Results[i]
		sub.Client = op.Client
		if batchable(sub.Code) {
			l.apply(sub, r, from)
		} else {
			fail(r, engine.ErrInvalid, "operation code %d cannot be part of a batch", sub.Code)
		}
		res.LSN = max(res.LSN, r.LSN)
	}
}

// batchable reports whether an operation may be part of a batch. Save
// and Load act on the store as a whole and take their own time, a nested
// batch would only complicate the numbering of writes, and a call that
// may wait would hold up the rest.
func batchable(c engine.Code) bool {
	switch c {
	case engine.OpBatch, engine.OpSave, engine.OpLoad, engine.OpCancel, engine.OpWatch:
		return false
	}
	return !blocking(c)
}

// shedBatch fails the largest results of a batch until the rest are
// estimated to fit in excess fewer bytes, so that the outcomes of its
// writes still reach the client when its reads do not fit in one message.
func shedBatch(res *engine.Result, excess int) {
	order := make([]int, len(res.Results))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Compare(payload(&res.Results[b]), payload(&res.Results[a]))
	})
	for _, i := range order {
		r := &res.Results[i]
		if excess <= 0 || payload(r) == 0 {
			return
		}
		excess -= payload(r) - shedMsgSize
		*r = engine.Result{}
		fail(r, engine.ErrInvalid, "result does not fit in one message with the rest of the batch")
	}
}

// shedMsgSize is about what the error replacing a shed result takes.
const shedMsgSize = 80

// payload estimates the encoded size of the data a result carries.
func payload(r *engine.Result) int {
	n := len(r.Value)
	for _, v := range r.Values {
		n += len(v) + 1
	}
	for _, k := range r.Keys {
		n += len(k) + 1
	}
	return n
}
