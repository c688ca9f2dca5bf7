package engine

import (
	"bytes"
	"slices"
)

// applyList dispatches the list operations.
func (e *Engine) applyList(op *Op, res *Result) {
	switch op.Code {
	case OpListGet, OpListSlice, OpListAll, OpListLen:
		e.listRead(op, res)
	case OpListCount, OpListIndex:
		e.listSearch(op, res)
	case OpListSet, OpListAppend, OpListInsert:
		e.listPut(op, res)
	case OpListSetSlice, OpListExtend:
		e.listPutMany(op, res)
	case OpListSort:
		e.listSort(op, res)
	default:
		e.listRemove(op, res)
	}
}

// listRead fills res from a read-locked list.
func (e *Engine) listRead(op *Op, res *Result) {
	t := e.read(op, KindList, res)
	if t == nil {
		return
	}
	l := t.list
	switch op.Code {
	case OpListGet:
		if i, ok := pyIndex(op.Index, len(l)); ok {
			res.Value = l[i]
		} else {
			indexError(res, "list index", op.Index, len(l))
		}
	case OpListSlice:
		i, j := pySlice(op.Index, op.Stop, len(l))
		res.Values = slices.Clone(l[i:j])
	case OpListAll:
		res.Values = slices.Clone(l)
	case OpListLen:
		res.Int = int64(len(l))
	}
	t.mu.RUnlock()
}

// listSearch fills res with the count or first index of op.Value.
func (e *Engine) listSearch(op *Op, res *Result) {
	if !needValue(op.Value, res) {
		return
	}
	t := e.read(op, KindList, res)
	if t == nil {
		return
	}
	if op.Code == OpListCount {
		res.Int = int64(countEqual(t.list, op.Value))
	} else if i := indexEqual(t.list, op.Value); i >= 0 {
		res.Int = int64(i)
	} else {
		fail(res, ErrNotFound, "value not in list %q", t.name)
	}
	t.mu.RUnlock()
}

// listPut stores op.Value at one position.
func (e *Engine) listPut(op *Op, res *Result) {
	if !e.checkValue(op.Value, res) {
		return
	}
	t := e.write(op, KindList, res)
	if t == nil {
		return
	}
	switch op.Code {
	case OpListSet:
		if i, ok := pyIndex(op.Index, len(t.list)); ok {
			t.list[i] = op.Value
		} else {
			indexError(res, "list assignment index", op.Index, len(t.list))
		}
	case OpListAppend:
		t.list = append(t.list, op.Value)
		res.Int = int64(len(t.list))
	case OpListInsert:
		t.list = slices.Insert(t.list, pyClamp(op.Index, len(t.list)), op.Value)
	}
	e.done(t, op, res)
}

// listPutMany stores op.Values at the end or in place of a slice.
func (e *Engine) listPutMany(op *Op, res *Result) {
	if !e.checkValues(op.Values, res) {
		return
	}
	t := e.write(op, KindList, res)
	if t == nil {
		return
	}
	if op.Code == OpListExtend {
		t.list = append(t.list, op.Values...)
		res.Int = int64(len(t.list))
	} else {
		i, j := pySlice(op.Index, op.Stop, len(t.list))
		t.list = slices.Replace(t.list, i, j, op.Values...)
		t.shrink()
	}
	e.done(t, op, res)
}

// listRemove applies the operations that remove elements or reorder them.
func (e *Engine) listRemove(op *Op, res *Result) {
	if op.Code == OpListRemove && !needValue(op.Value, res) {
		return
	}
	t := e.write(op, KindList, res)
	if t == nil {
		return
	}
	switch op.Code {
	case OpListDelete:
		t.deleteAt(op.Index, "list assignment index", res)
	case OpListPop:
		t.pop(op.Index, res)
	case OpListBPop:
		res.Value, res.Found = popEnd(t, op.Index)
	case OpListDeleteSlice:
		i, j := pySlice(op.Index, op.Stop, len(t.list))
		t.list = slices.Delete(t.list, i, j)
	case OpListRemove:
		t.remove(op.Value, res)
	case OpListReverse:
		slices.Reverse(t.list)
	case OpListClear:
		t.list = nil
	}
	t.shrink()
	e.done(t, op, res)
}

// pop removes the element at index i into res.Value.
func (t *table) pop(i int64, res *Result) {
	if len(t.list) == 0 {
		fail(res, ErrIndex, "pop from empty list")
		return
	}
	res.Value = t.deleteAt(i, "pop index", res)
}

// deleteAt removes and returns the element at index i, or records an
// ErrIndex naming the index as what.
func (t *table) deleteAt(i int64, what string, res *Result) []byte {
	k, ok := pyIndex(i, len(t.list))
	if !ok {
		indexError(res, what, i, len(t.list))
		return nil
	}
	v := t.list[k]
	t.list = slices.Delete(t.list, k, k+1)
	return v
}

// remove deletes the first element equal to v.
func (t *table) remove(v []byte, res *Result) {
	i := indexEqual(t.list, v)
	if i < 0 {
		fail(res, ErrNotFound, "value not in list %q", t.name)
		return
	}
	t.list = slices.Delete(t.list, i, i+1)
}

// shrink releases the spare capacity of a list that has lost most of its
// elements.
func (t *table) shrink() {
	if cap(t.list) > 64 && len(t.list) < cap(t.list)/4 {
		t.list = slices.Clone(t.list)
	}
}

// needValue reports whether v is present, recording ErrInvalid when not.
func needValue(v []byte, res *Result) bool {
	if len(v) == 0 {
		invalid(res, "missing value (nil or empty)")
		return false
	}
	return true
}

// indexEqual returns the index of the first element of l equal to v, or -1.
func indexEqual[E ~[]byte](l []E, v []byte) int {
	for i, x := range l {
		if bytes.Equal(x, v) {
			return i
		}
	}
	return -1
}

// countEqual returns the number of elements of l equal to v.
func countEqual[E ~[]byte](l []E, v []byte) int {
	n := 0
	for _, x := range l {
		if bytes.Equal(x, v) {
			n++
		}
	}
	return n
}

// pyIndex resolves index i of a sequence of length n as Python does,
// counting negative indexes from the end.
func pyIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// pyClamp resolves a slice bound or insert position i for length n.
func pyClamp(i int64, n int) int {
	if i < 0 {
		i = max(i+int64(n), 0)
	}
	return int(min(i, int64(n)))
}

// pySlice resolves the bounds of s[i:j] for length n.
func pySlice(i, j int64, n int) (int, int) {
	a, b := pyClamp(i, n), pyClamp(j, n)
	return a, max(a, b)
}
