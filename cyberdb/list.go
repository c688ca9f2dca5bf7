package cyberdb

import (
	"context"
	"iter"
	"math"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// End, as the stop of a slice, means the end of the list.
const End = math.MaxInt64

// List is a handle to a list table of any CBOR-encodable values. Indexes
// may be negative, counting from the end as in Python. A List is safe for
// concurrent use; every method is one atomic operation.
type List struct {
	db   *DB
	name string
}

// SortOptions says how List.Sort orders the elements.
type SortOptions struct {
	// Field, when set, sorts maps (and structs) by the value of this key.
	Field string
	// Reverse sorts in descending order.
	Reverse bool
}

// Name returns the table's name.
func (l *List) Name() string { return l.name }

// op returns an operation on this table at index i.
func (l *List) op(code engine.Code, i int) engine.Op {
	return engine.Op{Code: code, Table: l.name, Index: int64(i)}
}

// run runs op and returns its result.
func (l *List) run(ctx context.Context, op engine.Op) (engine.Result, error) {
	var res engine.Result
	err := l.db.do(ctx, &op, &res)
	return res, err
}

// withValue runs op carrying the encoding of v.
func (l *List) withValue(ctx context.Context, op engine.Op, v any) (engine.Result, error) {
	var err error
	if op.Value, err = encode(v); err != nil {
		return engine.Result{}, err
	}
	return l.run(ctx, op)
}

// Get decodes the element at index i into dst; ErrIndex if out of range.
func (l *List) Get(ctx context.Context, i int, dst any) error {
	res, err := l.run(ctx, l.op(engine.OpListGet, i))
	if err != nil {
		return err
	}
	return decodeInto(res.Value, dst)
}

// Set replaces the element at index i; ErrIndex if out of range.
func (l *List) Set(ctx context.Context, i int, v any) error {
	_, err := l.withValue(ctx, l.op(engine.OpListSet, i), v)
	return err
}

// Delete removes the element at index i; ErrIndex if out of range.
func (l *List) Delete(ctx context.Context, i int) error {
	_, err := l.run(ctx, l.op(engine.OpListDelete, i))
	return err
}

// Slice decodes the elements l[start:stop] into dst, a pointer to a slice.
// Bounds are clamped as in Python; use End for the end of the list.
func (l *List) Slice(ctx context.Context, start, stop int, dst any) error {
	op := l.op(engine.OpListSlice, start)
	op.Stop = int64(stop)
	res, err := l.run(ctx, op)
	if err != nil {
		return err
	}
	return decodeArray(res.Values, dst)
}

// SetSlice replaces l[start:stop] with the elements of values, a slice of
// any length, as Python's l[start:stop] = values does.
func (l *List) SetSlice(ctx context.Context, start, stop int, values any) error {
	op := l.op(engine.OpListSetSlice, start)
	op.Stop = int64(stop)
	var err error
	if op.Values, err = encodeSlice(values); err != nil {
		return err
	}
	_, err = l.run(ctx, op)
	return err
}

// DeleteSlice removes l[start:stop], as Python's del l[start:stop] does.
func (l *List) DeleteSlice(ctx context.Context, start, stop int) error {
	op := l.op(engine.OpListDeleteSlice, start)
	op.Stop = int64(stop)
	_, err := l.run(ctx, op)
	return err
}

// ToSlice decodes the whole list into dst, a pointer to a slice. The list
// travels in one message; iterate large lists with All.
func (l *List) ToSlice(ctx context.Context, dst any) error {
	res, err := l.run(ctx, l.op(engine.OpListAll, 0))
	if err != nil {
		return err
	}
	return decodeArray(res.Values, dst)
}

// Append adds v at the end.
func (l *List) Append(ctx context.Context, v any) error {
	_, err := l.withValue(ctx, l.op(engine.OpListAppend, 0), v)
	return err
}

// Extend adds the elements of values, a slice, at the end in one atomic
// operation.
func (l *List) Extend(ctx context.Context, values any) error {
	op := l.op(engine.OpListExtend, 0)
	var err error
	if op.Values, err = encodeSlice(values); err != nil {
		return err
	}
	_, err = l.run(ctx, op)
	return err
}

// Insert inserts v before index i, clamped to the list as in Python.
func (l *List) Insert(ctx context.Context, i int, v any) error {
	_, err := l.withValue(ctx, l.op(engine.OpListInsert, i), v)
	return err
}

// Pop removes the element at index i (-1 for the last) and decodes it into
// dst (which may be nil); ErrIndex if the list is empty or i out of range.
func (l *List) Pop(ctx context.Context, i int, dst any) error {
	res, err := l.run(ctx, l.op(engine.OpListPop, i))
	if err != nil {
		return err
	}
	return decodeInto(res.Value, dst)
}

// Remove removes the first element equal to v (compared by encoding);
// ErrNotFound if there is none.
func (l *List) Remove(ctx context.Context, v any) error {
	_, err := l.withValue(ctx, l.op(engine.OpListRemove, 0), v)
	return err
}

// Count returns the number of elements equal to v.
func (l *List) Count(ctx context.Context, v any) (int, error) {
	res, err := l.withValue(ctx, l.op(engine.OpListCount, 0), v)
	return int(res.Int), err
}

// Index returns the index of the first element equal to v; ErrNotFound
// if there is none.
func (l *List) Index(ctx context.Context, v any) (int, error) {
	res, err := l.withValue(ctx, l.op(engine.OpListIndex, 0), v)
	if err != nil {
		return -1, err
	}
	return int(res.Int), nil
}

// Reverse reverses the list in place.
func (l *List) Reverse(ctx context.Context) error {
	_, err := l.run(ctx, l.op(engine.OpListReverse, 0))
	return err
}

// Sort sorts the list in place, stably: numbers numerically, strings
// lexically, booleans false first, and maps by opts.Field. Mixed kinds
// return ErrUnsortable and leave the list as it was. A nil opts sorts
// ascending by value. No code is sent to the leader.
func (l *List) Sort(ctx context.Context, opts *SortOptions) error {
	op := l.op(engine.OpListSort, 0)
	if opts != nil {
		op.Field, op.Reverse = opts.Field, opts.Reverse
	}
	_, err := l.run(ctx, op)
	return err
}

// Clear removes every element.
func (l *List) Clear(ctx context.Context) error {
	_, err := l.run(ctx, l.op(engine.OpListClear, 0))
	return err
}

// Len returns the number of elements.
func (l *List) Len(ctx context.Context) (int, error) {
	res, err := l.run(ctx, l.op(engine.OpListLen, 0))
	return int(res.Int), err
}

// listPage is the number of elements fetched per page by All.
const listPage = 256

// All iterates over the elements in order, fetching them in
// pages so a large list is never copied in one message. Iteration is
// weakly consistent: elements inserted or removed meanwhile may shift
// what later pages see. An error ends the iteration as the last pair.
func (l *List) All(ctx context.Context) iter.Seq2[Value, error] {
	return func(yield func(Value, error) bool) {
		for start := 0; ; start += listPage {
			op := l.op(engine.OpListSlice, start)
			op.Stop = int64(start + listPage)
			res, err := l.run(ctx, op)
			if err != nil {
				yield(Value{}, err)
				return
			}
			for _, raw := range res.Values {
				if !yield(Value{raw}, nil) {
					return
				}
			}
			if len(res.Values) < listPage {
				return
			}
		}
	}
}
