package cyberdb

import (
	"context"
	"iter"
)

// TypedDict is a dict table whose values are all of type V, so calls
// return V instead of decoding into a destination. Make one with DictOf.
type TypedDict[V any] struct {
	d *Dict
}

// DictOf returns a typed view of d. The table itself is not typed: a
// value stored through another handle that does not decode into V makes
// reads of it return ErrWrongType.
func DictOf[V any](d *Dict) *TypedDict[V] { return &TypedDict[V]{d: d} }

// Untyped returns the underlying Dict, for Incr and other untyped calls.
func (t *TypedDict[V]) Untyped() *Dict { return t.d }

// Get returns the value of key and whether the key exists.
func (t *TypedDict[V]) Get(ctx context.Context, key string) (V, bool, error) {
	var v V
	ok, err := t.d.Get(ctx, key, &v)
	return v, ok, err
}

// Set stores v under key.
func (t *TypedDict[V]) Set(ctx context.Context, key string, v V) error {
	return t.d.Set(ctx, key, v)
}

// Delete removes key and reports whether it existed.
func (t *TypedDict[V]) Delete(ctx context.Context, key string) (bool, error) {
	return t.d.Delete(ctx, key)
}

// Has reports whether key exists.
func (t *TypedDict[V]) Has(ctx context.Context, key string) (bool, error) {
	return t.d.Has(ctx, key)
}

// Len returns the number of keys.
func (t *TypedDict[V]) Len(ctx context.Context) (int, error) { return t.d.Len(ctx) }

// Keys returns every key, sorted.
func (t *TypedDict[V]) Keys(ctx context.Context) ([]string, error) { return t.d.Keys(ctx) }

// Values returns every value, in the order of the sorted keys.
func (t *TypedDict[V]) Values(ctx context.Context) ([]V, error) {
	var vs []V
	err := t.d.Values(ctx, &vs)
	return vs, err
}

// ToMap returns the whole table as a map.
func (t *TypedDict[V]) ToMap(ctx context.Context) (map[string]V, error) {
	m := map[string]V{}
	err := t.d.ToMap(ctx, &m)
	return m, err
}

// All iterates over the entries in key order, in pages (see Dict.All).
func (t *TypedDict[V]) All(ctx context.Context) iter.Seq2[Entry[V], error] {
	return func(yield func(Entry[V], error) bool) {
		for e, err := range t.d.All(ctx) {
			var v V
			if err == nil {
				err = e.Value.Decode(&v)
			}
			if !yield(Entry[V]{e.Key, v}, err) || err != nil {
				return
			}
		}
	}
}

// SetDefault stores def under key if the key is absent and returns the
// value now stored and whether the key existed before.
func (t *TypedDict[V]) SetDefault(ctx context.Context, key string, def V) (V, bool, error) {
	var v V
	ok, err := t.d.SetDefault(ctx, key, def, &v)
	return v, ok, err
}

// SetMany stores every pair of m in one atomic operation.
func (t *TypedDict[V]) SetMany(ctx context.Context, m map[string]V) error {
	return t.d.SetMany(ctx, m)
}

// Pop removes key and returns its value and whether it existed.
func (t *TypedDict[V]) Pop(ctx context.Context, key string) (V, bool, error) {
	var v V
	ok, err := t.d.Pop(ctx, key, &v)
	return v, ok, err
}

// PopItem removes the last key in sorted order and returns it with its
// value; ErrNotFound when the dict is empty.
func (t *TypedDict[V]) PopItem(ctx context.Context) (string, V, error) {
	var v V
	k, err := t.d.PopItem(ctx, &v)
	return k, v, err
}

// Clear removes every key.
func (t *TypedDict[V]) Clear(ctx context.Context) error { return t.d.Clear(ctx) }

// CompareAndSwap stores new under key only if its value equals old, and
// reports whether it did.
func (t *TypedDict[V]) CompareAndSwap(ctx context.Context, key string, old, new V) (bool, error) {
	return t.d.CompareAndSwap(ctx, key, old, new)
}

// SetIfAbsent stores v under key only if the key is absent, and reports
// whether it did.
func (t *TypedDict[V]) SetIfAbsent(ctx context.Context, key string, v V) (bool, error) {
	return t.d.SetIfAbsent(ctx, key, v)
}

// GetAndSet stores v under key and returns the previous value and whether
// there was one.
func (t *TypedDict[V]) GetAndSet(ctx context.Context, key string, v V) (V, bool, error) {
	var old V
	ok, err := t.d.GetAndSet(ctx, key, v, &old)
	return old, ok, err
}

// TypedList is a list table whose elements are all of type V. Make one
// with ListOf.
type TypedList[V any] struct {
	l *List
}

// ListOf returns a typed view of l (see DictOf).
func ListOf[V any](l *List) *TypedList[V] { return &TypedList[V]{l: l} }

// Untyped returns the underlying List.
func (t *TypedList[V]) Untyped() *List { return t.l }

// Get returns the element at index i; ErrIndex if out of range.
func (t *TypedList[V]) Get(ctx context.Context, i int) (V, error) {
	var v V
	err := t.l.Get(ctx, i, &v)
	return v, err
}

// Set replaces the element at index i.
func (t *TypedList[V]) Set(ctx context.Context, i int, v V) error { return t.l.Set(ctx, i, v) }

// Delete removes the element at index i.
func (t *TypedList[V]) Delete(ctx context.Context, i int) error { return t.l.Delete(ctx, i) }

// Slice returns l[start:stop], clamped as in Python.
func (t *TypedList[V]) Slice(ctx context.Context, start, stop int) ([]V, error) {
	var vs []V
	err := t.l.Slice(ctx, start, stop, &vs)
	return vs, err
}

// SetSlice replaces l[start:stop] with vs.
func (t *TypedList[V]) SetSlice(ctx context.Context, start, stop int, vs []V) error {
	return t.l.SetSlice(ctx, start, stop, vs)
}

// DeleteSlice removes l[start:stop].
func (t *TypedList[V]) DeleteSlice(ctx context.Context, start, stop int) error {
	return t.l.DeleteSlice(ctx, start, stop)
}

// ToSlice returns the whole list.
func (t *TypedList[V]) ToSlice(ctx context.Context) ([]V, error) {
	var vs []V
	err := t.l.ToSlice(ctx, &vs)
	return vs, err
}

// Append adds v at the end.
func (t *TypedList[V]) Append(ctx context.Context, v V) error { return t.l.Append(ctx, v) }

// Extend adds vs at the end in one atomic operation.
func (t *TypedList[V]) Extend(ctx context.Context, vs ...V) error { return t.l.Extend(ctx, vs) }

// Insert inserts v before index i.
func (t *TypedList[V]) Insert(ctx context.Context, i int, v V) error {
	return t.l.Insert(ctx, i, v)
}

// Pop removes and returns the element at index i (-1 for the last).
func (t *TypedList[V]) Pop(ctx context.Context, i int) (V, error) {
	var v V
	err := t.l.Pop(ctx, i, &v)
	return v, err
}

// Remove removes the first element equal to v; ErrNotFound if none.
func (t *TypedList[V]) Remove(ctx context.Context, v V) error { return t.l.Remove(ctx, v) }

// Count returns the number of elements equal to v.
func (t *TypedList[V]) Count(ctx context.Context, v V) (int, error) { return t.l.Count(ctx, v) }

// Index returns the index of the first element equal to v; ErrNotFound
// if none.
func (t *TypedList[V]) Index(ctx context.Context, v V) (int, error) { return t.l.Index(ctx, v) }

// Reverse reverses the list in place.
func (t *TypedList[V]) Reverse(ctx context.Context) error { return t.l.Reverse(ctx) }

// Sort sorts the list in place (see List.Sort).
func (t *TypedList[V]) Sort(ctx context.Context, opts *SortOptions) error {
	return t.l.Sort(ctx, opts)
}

// Clear removes every element.
func (t *TypedList[V]) Clear(ctx context.Context) error { return t.l.Clear(ctx) }

// Len returns the number of elements.
func (t *TypedList[V]) Len(ctx context.Context) (int, error) { return t.l.Len(ctx) }

// All iterates over the elements in order, in pages (see List.All).
func (t *TypedList[V]) All(ctx context.Context) iter.Seq2[V, error] {
	return func(yield func(V, error) bool) {
		for e, err := range t.l.All(ctx) {
			var v V
			if err == nil {
				err = e.Decode(&v)
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}
