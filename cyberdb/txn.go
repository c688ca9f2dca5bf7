package cyberdb

import (
	"context"
	"fmt"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Txn collects operations and checks to apply atomically: Commit applies
// all of them, in order, with no other call seeing or coming between
// them, or, if a check or an operation fails, none of them (unlike Redis
// MULTI, which applies the rest). A Txn may span dicts and lists of its
// DB. It is not safe for concurrent use.
//
// A transaction holds the whole store while it runs, so keep it short:
// it may not hold scans, blocking calls, locks or table creation.
type Txn struct {
	b Batch
}

// TxnError is the error of a transaction that was not applied: Index is
// its operation that failed and Err why (wrapping ErrConflict when it was
// a check).
type TxnError struct {
	Index int
	Err   error
}

func (e *TxnError) Error() string {
	return fmt.Sprintf("cyberdb: transaction not applied: operation %d: %v", e.Index, e.Err)
}

// Unwrap returns Err.
func (e *TxnError) Unwrap() error { return e.Err }

// Txn returns an empty transaction bound to db.
func (db *DB) Txn() *Txn { return &Txn{b: Batch{db: db, bad: -1}} }

// Len returns the number of operations and checks queued.
func (tx *Txn) Len() int { return tx.b.Len() }

// Commit applies the transaction and fills in each Pending. It returns a
// *TxnError when a check or an operation failed, in which case nothing
// was applied, or the error that kept it from running (a Pending then
// holds it too). A transaction is applied once even when a takeover
// makes Commit send it again. After Commit the transaction is empty.
func (tx *Txn) Commit(ctx context.Context) error {
	b := &tx.b
	defer b.Reset()
	if err := b.unsendable(); err != nil {
		return err
	}
	if len(b.ops) == 0 {
		return nil
	}
	op := engine.Op{Code: engine.OpTxn, Ops: b.ops}
	var res engine.Result
	err := b.db.do(ctx, &op, &res)
	if res.Err == engine.ErrAborted && len(res.Results) == 1 {
		err = &TxnError{Index: int(res.Int), Err: resultError(&res.Results[0])}
	}
	if err != nil {
		return b.abandon(err, err)
	}
	if len(res.Results) != len(b.ops) {
		err = fmt.Errorf("%w: %d results for a transaction of %d operations", ErrInternal, len(res.Results), len(b.ops))
		return b.abandon(err, err)
	}
	return b.fill(res.Results)
}

// CheckEquals makes the transaction apply only if key of d holds v.
func (tx *Txn) CheckEquals(d *Dict, key string, v any) {
	queueValue[struct{}](&tx.b, d.db, d.op(engine.OpCheckEquals, key), v)
}

// CheckAbsent makes the transaction apply only if key of d does not exist.
func (tx *Txn) CheckAbsent(d *Dict, key string) {
	queue[struct{}](&tx.b, d.db, d.op(engine.OpCheckAbsent, key))
}

// CheckVersion makes the transaction apply only if key of d has version
// ver (see Dict.GetVersion); 0 means the key does not exist.
func (tx *Txn) CheckVersion(d *Dict, key string, ver uint64) {
	op := d.op(engine.OpCheckVersion, key)
	op.Version = ver
	queue[struct{}](&tx.b, d.db, op)
}

// Get queues reading the value of key of d, as of the transaction.
func (tx *Txn) Get(d *Dict, key string) *Pending[Value] { return tx.b.Get(d, key) }

// Set queues storing v under key of d.
func (tx *Txn) Set(d *Dict, key string, v any) *Pending[struct{}] { return tx.b.Set(d, key, v) }

// SetTTL queues storing v under key of d, to expire ttl after the commit.
func (tx *Txn) SetTTL(d *Dict, key string, v any, ttl time.Duration) *Pending[struct{}] {
	op := d.op(engine.OpDictSet, key)
	op.TTL = int64(ttl)
	p := queueValue[struct{}](&tx.b, d.db, op, v)
	if err := checkTTL(ttl); err != nil {
		tx.b.reject(err)
	}
	return p
}

// Delete queues removing key of d; Found reports whether it existed.
func (tx *Txn) Delete(d *Dict, key string) *Pending[struct{}] { return tx.b.Delete(d, key) }

// Incr queues adding delta to the integer under key of d.
func (tx *Txn) Incr(d *Dict, key string, delta int64) *Pending[int64] {
	return tx.b.Incr(d, key, delta)
}

// Append queues adding v at the end of l; Value is the new length.
func (tx *Txn) Append(l *List, v any) *Pending[int] { return tx.b.Append(l, v) }

// Pop queues removing the element at index (-1 for the last) of l; an
// empty list fails the transaction with ErrIndex.
func (tx *Txn) Pop(l *List, index int) *Pending[Value] { return tx.b.Pop(l, index) }
