package cyberdb

import (
	"context"
	"fmt"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Batch collects operations to run in one round trip to the leader.
//
// Run applies them in order, one after the other, but not atomically:
// operations of other calls and processes may come between them, and a
// failing operation neither stops nor undoes the others, as with Redis
// pipelining. A Batch may hold operations on any tables of its DB.
type Batch struct {
	db      *DB
	ops     []engine.Op
	slots   []slot          // the outcome of ops[i] goes to slots[i]
	results []engine.Result // kept for the next run, so the leader's own batches allocate none
	bad     int             // the index of the first operation that could not be queued, or -1
}

// slot is where the outcome of a queued operation goes.
type slot struct {
	p   sink
	bad bool // the operation could not be queued; p holds why
}

// sink is a Pending of any type.
type sink interface {
	fill(res *engine.Result, found bool, err error)
	Err() error
}

// errNotRun is the error of a Pending until its batch runs.
var errNotRun = fmt.Errorf("%w: batch not run", ErrInvalid)

// Batch returns an empty batch bound to db. A Batch is not safe for
// concurrent use; use one per goroutine.
func (db *DB) Batch() *Batch { return &Batch{db: db, bad: -1} }

// Len returns the number of operations queued.
func (b *Batch) Len() int { return len(b.ops) }

// Reset empties the batch for reuse, keeping its capacity. The Pendings
// of operations already run keep their results; those of operations
// dropped unrun keep reporting that the batch did not run.
func (b *Batch) Reset() {
	clear(b.ops) // drop the values, which now belong to the caller or the leader
	clear(b.slots)
	b.ops, b.slots, b.bad = b.ops[:0], b.slots[:0], -1
}

// Run sends every queued operation to the leader in one request and
// fills in each Pending. It returns the first error among the operations,
// in order, or the transport error (ErrLeaderLost etc.) or ctx error if
// the batch could not be run; the Pendings then hold that error too.
//
// Across a leader takeover the batch is retried like any call: every
// write in it carries its own (client, sequence) number, so a write is
// applied exactly once even if the batch is resent. A value that cannot
// be encoded is caught before anything is sent: Run then sends nothing
// and returns that operation's error. A batch holds at most 65,536
// operations. Their results travel in one message: when they exceed
// Options.MaxMessageSize the largest fail with ErrInvalid (a Pop among
// them still removed its element) and the others keep theirs. Run on an
// empty batch returns nil. After Run the batch is empty again, as after
// Reset, ready for the next operations.
func (b *Batch) Run(ctx context.Context) error {
	defer b.Reset()
	if err := b.unsendable(); err != nil || len(b.ops) == 0 {
		return err
	}
	op := engine.Op{Code: engine.OpBatch, Ops: b.ops}
	res := engine.Result{Results: b.results}
	err := b.db.do(ctx, &op, &res)
	if err == nil && len(res.Results) != len(b.ops) {
		err = fmt.Errorf("%w: %d results for a batch of %d operations", ErrInternal, len(res.Results), len(b.ops))
	}
	if err == nil {
		err = b.fill(res.Results)
	} else {
		b.abandon(err, err)
	}
	clear(res.Results[:cap(res.Results)]) // so that no decoding into them reuses a value's bytes
	b.results = res.Results[:0]
	return err
}

// unsendable returns why the queued operations cannot be sent, giving
// the error to their Pendings.
func (b *Batch) unsendable() error {
	switch {
	case b.bad >= 0:
		err := b.slots[b.bad].p.Err()
		return b.abandon(fmt.Errorf("%w: not sent: operation %d failed: %v", ErrInvalid, b.bad, err), err)
	case len(b.ops) > maxBatch:
		err := fmt.Errorf("%w: at most %d operations, not %d", ErrInvalid, maxBatch, len(b.ops))
		return b.abandon(err, err)
	}
	return nil
}

// fill hands each result to its Pending and returns the first error.
func (b *Batch) fill(results []engine.Result) error {
	var first error
	for i, s := range b.slots {
		r := &results[i]
		err := resultError(r)
		found := r.Found
		if b.ops[i].Code == engine.OpListPop {
			found = err == nil // the engine reports a pop by its success
		}
		s.p.fill(r, found, err)
		if first == nil {
			first = err
		}
	}
	return first
}

// abandon gives err to the Pendings of a batch that was not run, except
// those that failed on their own, and returns ret.
func (b *Batch) abandon(err, ret error) error {
	for _, s := range b.slots {
		if !s.bad {
			s.p.fill(nil, false, err)
		}
	}
	return ret
}

// queue adds op, on a table of db, and returns the Pending of its outcome.
func queue[T any](b *Batch, db *DB, op engine.Op) *Pending[T] {
	p := &Pending[T]{err: errNotRun}
	b.ops = append(b.ops, op)
	b.slots = append(b.slots, slot{p: p})
	if db != b.db {
		b.reject(fmt.Errorf("%w: a batch takes only tables of its own DB", ErrInvalid))
	}
	return p
}

// queueValue is queue for an operation carrying the encoding of v.
func queueValue[T any](b *Batch, db *DB, op engine.Op, v any) *Pending[T] {
	raw, err := encode(v)
	op.Value = raw
	p := queue[T](b, db, op)
	if err != nil {
		b.reject(err)
	}
	return p
}

// reject fails the operation queued last before anything is sent: its
// Pending holds err at once, and Run sends nothing.
func (b *Batch) reject(err error) {
	i := len(b.slots) - 1
	if b.slots[i].bad {
		return
	}
	b.slots[i].bad = true
	b.slots[i].p.fill(nil, false, err)
	if b.bad < 0 {
		b.bad = i
	}
}

// Get queues reading the value of key; Found reports whether it exists.
func (b *Batch) Get(d *Dict, key string) *Pending[Value] {
	return queue[Value](b, d.db, d.op(engine.OpDictGet, key))
}

// Set queues storing v under key.
func (b *Batch) Set(d *Dict, key string, v any) *Pending[struct{}] {
	return queueValue[struct{}](b, d.db, d.op(engine.OpDictSet, key), v)
}

// Delete queues removing key; Found reports whether it existed.
func (b *Batch) Delete(d *Dict, key string) *Pending[struct{}] {
	return queue[struct{}](b, d.db, d.op(engine.OpDictDelete, key))
}

// Has queues testing whether key exists; Found reports whether it does.
func (b *Batch) Has(d *Dict, key string) *Pending[struct{}] {
	return queue[struct{}](b, d.db, d.op(engine.OpDictHas, key))
}

// Incr queues adding delta to the integer under key, as Dict.Incr does;
// Value is the new value.
func (b *Batch) Incr(d *Dict, key string, delta int64) *Pending[int64] {
	op := d.op(engine.OpDictIncr, key)
	op.Delta = delta
	return queue[int64](b, d.db, op)
}

// SetIfAbsent queues storing v under key only if the key is absent;
// Found reports whether it was set.
func (b *Batch) SetIfAbsent(d *Dict, key string, v any) *Pending[struct{}] {
	return queueValue[struct{}](b, d.db, d.op(engine.OpDictSetNX, key), v)
}

// Append queues adding v at the end of l; Value is the new length.
func (b *Batch) Append(l *List, v any) *Pending[int] {
	return queueValue[int](b, l.db, l.op(engine.OpListAppend, 0), v)
}

// Pop queues removing the element at index (-1 for the last) of l, as
// List.Pop does; Value is the element. On an empty list or an index out
// of range, Found is false and Err wraps ErrIndex.
func (b *Batch) Pop(l *List, index int) *Pending[Value] {
	return queue[Value](b, l.db, l.op(engine.OpListPop, index))
}

// ListLen queues reading the number of elements of l.
func (b *Batch) ListLen(l *List) *Pending[int] {
	return queue[int](b, l.db, l.op(engine.OpListLen, 0))
}

// Pending is the outcome of one operation of a Batch, filled in by Run.
// It is not safe to read while its batch runs.
type Pending[T any] struct {
	val   T
	found bool
	ver   uint64
	err   error
}

// Value returns the result of the operation: zero if it failed or its
// batch has not run.
func (p *Pending[T]) Value() T { return p.val }

// Found reports, for Get, Delete and Has, whether the key existed; for
// SetIfAbsent, whether the value was set; for Pop, whether an element
// was popped. It is false for the other operations.
func (p *Pending[T]) Found() bool { return p.found }

// Version returns, for Get and the writes of a key, the version of the
// key read or written (0 when absent or not applicable).
func (p *Pending[T]) Version() uint64 { return p.ver }

// Err returns the operation's error. Until its batch runs it is an error
// wrapping ErrInvalid, or the error that kept the operation from being
// queued, such as a value that cannot be encoded.
func (p *Pending[T]) Err() error { return p.err }

// fill records the outcome of the operation.
func (p *Pending[T]) fill(res *engine.Result, found bool, err error) {
	p.found, p.err = found, err
	if err != nil {
		return
	}
	p.ver = res.Version
	switch v := any(&p.val).(type) {
	case *Value:
		*v = Value{res.Value}
	case *int64:
		*v = res.Int
	case *int:
		*v = int(res.Int)
	}
}
