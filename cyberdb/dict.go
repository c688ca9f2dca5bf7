package cyberdb

import (
	"context"
	"iter"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Dict is a handle to a dict table: string keys, any CBOR-encodable
// values. Values are stored encoded, so reads return copies. A Dict is
// safe for concurrent use; every method is one atomic operation.
type Dict struct {
	db   *DB
	name string
}

// Entry is a key and its value, as yielded by the All iterators.
type Entry[V any] struct {
	Key   string
	Value V
}

// Name returns the table's name.
func (d *Dict) Name() string { return d.name }

// op returns an operation on this table.
func (d *Dict) op(code engine.Code, key string) engine.Op {
	return engine.Op{Code: code, Table: d.name, Key: key}
}

// Get decodes the value of key into dst (a pointer, as for
// encoding/json) and reports whether the key exists. dst may be nil to
// test existence only.
func (d *Dict) Get(ctx context.Context, key string, dst any) (bool, error) {
	x := getExchange()
	defer putExchange(x)
	x.op = d.op(engine.OpDictGet, key)
	x.res.Value = x.valueBuffer() // a reply's value is decoded into it
	if err := d.db.do(ctx, &x.op, &x.res); err != nil || !x.res.Found {
		return false, err
	}
	return true, decodeInto(x.res.Value, dst)
}

// Set stores v under key.
func (d *Dict) Set(ctx context.Context, key string, v any) error {
	op := d.op(engine.OpDictSet, key)
	var err error
	if op.Value, err = encode(v); err != nil {
		return err
	}
	return d.db.exec(ctx, &op)
}

// Delete removes key and reports whether it existed.
func (d *Dict) Delete(ctx context.Context, key string) (bool, error) {
	return d.found(ctx, d.op(engine.OpDictDelete, key))
}

// Has reports whether key exists.
func (d *Dict) Has(ctx context.Context, key string) (bool, error) {
	return d.found(ctx, d.op(engine.OpDictHas, key))
}

// found runs op and returns its Found flag.
func (d *Dict) found(ctx context.Context, op engine.Op) (bool, error) {
	var res engine.Result
	err := d.db.do(ctx, &op, &res)
	return res.Found, err
}

// Len returns the number of keys.
func (d *Dict) Len(ctx context.Context) (int, error) {
	op := d.op(engine.OpDictLen, "")
	var res engine.Result
	err := d.db.do(ctx, &op, &res)
	return int(res.Int), err
}

// Keys returns every key, sorted.
func (d *Dict) Keys(ctx context.Context) ([]string, error) {
	op := d.op(engine.OpDictKeys, "")
	var res engine.Result
	err := d.db.do(ctx, &op, &res)
	return res.Keys, err
}

// Values decodes every value, in the order of the sorted keys, into dst:
// a pointer to a slice, such as *[]int or *[]any.
func (d *Dict) Values(ctx context.Context, dst any) error {
	op := d.op(engine.OpDictValues, "")
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil {
		return err
	}
	return decodeArray(res.Values, dst)
}

// ToMap decodes the whole table into dst: a pointer to a map with string
// keys, such as *map[string]int, or to a struct. The table travels in one
// message; iterate large tables with All.
func (d *Dict) ToMap(ctx context.Context, dst any) error {
	op := d.op(engine.OpDictItems, "")
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil {
		return err
	}
	return decodeMap(res.Keys, res.Values, dst)
}

// All iterates over the entries in key order, fetching them in pages so a
// large table is never copied in one message. Iteration is weakly
// consistent: it sees each key present for the whole iteration once, and
// keys changed meanwhile with their value at some moment of it. An error
// ends the iteration as the last pair yielded.
func (d *Dict) All(ctx context.Context) iter.Seq2[Entry[Value], error] {
	return func(yield func(Entry[Value], error) bool) {
		s := scanner{d: d}
		defer s.close(ctx)
		for s.next(ctx) {
			for i, k := range s.res.Keys {
				if !yield(Entry[Value]{k, Value{s.res.Values[i]}}, nil) {
					return
				}
			}
		}
		if s.err != nil {
			yield(Entry[Value]{}, s.err)
		}
	}
}

// scanPage is the number of entries fetched per page by All.
const scanPage = 256

// scanner fetches the pages of a dict scan.
type scanner struct {
	d       *Dict
	res     engine.Result
	err     error
	started bool
}

// next fetches the next page; it reports false when done or failed.
func (s *scanner) next(ctx context.Context) bool {
	if s.started && s.res.Cursor == 0 {
		return false
	}
	op := s.d.op(engine.OpDictScan, "")
	op.Cursor, op.Limit = s.res.Cursor, scanPage
	s.res, s.started = engine.Result{}, true
	s.err = s.d.db.do(ctx, &op, &s.res)
	return s.err == nil
}

// close releases the cursor of an iteration that stopped early.
func (s *scanner) close(ctx context.Context) {
	if s.err == nil && s.res.Cursor != 0 {
		op := engine.Op{Code: engine.OpCloseCursor, Cursor: s.res.Cursor}
		s.d.db.exec(context.WithoutCancel(ctx), &op)
	}
}

// SetDefault stores def under key if the key is absent, then decodes the
// value now stored into dst (which may be nil). It reports whether the
// key existed before.
func (d *Dict) SetDefault(ctx context.Context, key string, def, dst any) (bool, error) {
	op := d.op(engine.OpDictSetDefault, key)
	var err error
	if op.Value, err = encode(def); err != nil {
		return false, err
	}
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil {
		return false, err
	}
	return res.Found, decodeInto(res.Value, dst)
}

// SetMany stores every pair of m, a map with string keys, in one atomic
// operation (Python's dict.update).
func (d *Dict) SetMany(ctx context.Context, m any) error {
	op := d.op(engine.OpDictUpdate, "")
	var err error
	if op.Keys, op.Values, err = encodeMap(m); err != nil {
		return err
	}
	return d.db.exec(ctx, &op)
}

// Pop removes key, decodes its value into dst (which may be nil) and
// reports whether it existed.
func (d *Dict) Pop(ctx context.Context, key string, dst any) (bool, error) {
	op := d.op(engine.OpDictPop, key)
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil || !res.Found {
		return false, err
	}
	return true, decodeInto(res.Value, dst)
}

// PopItem removes the last key in sorted order, decodes its value into dst
// (which may be nil) and returns the key. It returns ErrNotFound when the
// dict is empty.
func (d *Dict) PopItem(ctx context.Context, dst any) (string, error) {
	op := d.op(engine.OpDictPopItem, "")
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil {
		return "", err
	}
	if !res.Found {
		return "", ErrNotFound
	}
	return res.Key, decodeInto(res.Value, dst)
}

// Clear removes every key.
func (d *Dict) Clear(ctx context.Context) error {
	return d.db.exec(ctx, &engine.Op{Code: engine.OpDictClear, Table: d.name})
}

// Incr atomically adds delta to the integer under key, creating it at 0,
// and returns the new value. It returns ErrWrongType if the stored value
// is not an integer and ErrOverflow if the sum leaves the int64 range.
func (d *Dict) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	op := d.op(engine.OpDictIncr, key)
	op.Delta = delta
	var res engine.Result
	err := d.db.do(ctx, &op, &res)
	return res.Int, err
}

// IncrFloat atomically adds delta to the number under key, creating it at
// 0, stores the sum as a float64 and returns it.
func (d *Dict) IncrFloat(ctx context.Context, key string, delta float64) (float64, error) {
	op := d.op(engine.OpDictIncrFloat, key)
	op.Float = delta
	var res engine.Result
	err := d.db.do(ctx, &op, &res)
	return res.Float, err
}

// CompareAndSwap stores new under key only if the key exists and its value
// equals old (compared by encoding, so 1 and 1.0 differ), and reports
// whether it did.
func (d *Dict) CompareAndSwap(ctx context.Context, key string, old, new any) (bool, error) {
	op := d.op(engine.OpDictCAS, key)
	var err error
	if op.Old, err = encode(old); err != nil {
		return false, err
	}
	if op.Value, err = encode(new); err != nil {
		return false, err
	}
	return d.found(ctx, op)
}

// SetIfAbsent stores v under key only if the key is absent (Redis SETNX),
// and reports whether it did.
func (d *Dict) SetIfAbsent(ctx context.Context, key string, v any) (bool, error) {
	op := d.op(engine.OpDictSetNX, key)
	var err error
	if op.Value, err = encode(v); err != nil {
		return false, err
	}
	return d.found(ctx, op)
}

// GetAndSet stores v under key, decodes the previous value into old (which
// may be nil) and reports whether there was one.
func (d *Dict) GetAndSet(ctx context.Context, key string, v, old any) (bool, error) {
	op := d.op(engine.OpDictGetAndSet, key)
	var err error
	if op.Value, err = encode(v); err != nil {
		return false, err
	}
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil || !res.Found {
		return false, err
	}
	return true, decodeInto(res.Value, old)
}
