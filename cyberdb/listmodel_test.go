package cyberdb_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// listModel checks a List against a Go slice with Python's semantics.
type listModel struct {
	t *testing.T
	l *cyberdb.List
	s []int
}

// pyIndex resolves a Python index; ok is false when out of range.
func pyIndex(i, n int) (int, bool) {
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

// pyBounds clamps a Python slice's bounds to [0, n].
func pyBounds(i, j, n int) (int, int) {
	clamp := func(x int) int {
		if x < 0 {
			x += n
		}
		return min(max(x, 0), n)
	}
	i, j = clamp(i), clamp(j)
	return i, max(i, j)
}

func (m *listModel) step(ctx context.Context, step int, r *rand.Rand) {
	n := len(m.s)
	i, j, v := r.IntN(2*n+3)-n-1, r.IntN(2*n+3)-n-1, r.IntN(10)
	switch r.IntN(13) {
	case 0, 1:
		m.ok(step, "Append", m.l.Append(ctx, v))
		m.s = append(m.s, v)
	case 2:
		var got int
		err := m.l.Get(ctx, i, &got)
		if k, ok := pyIndex(i, n); ok {
			m.same(step, "Get", err, got, m.s[k])
		} else {
			m.isIndexErr(step, "Get", err)
		}
	case 3:
		err := m.l.Set(ctx, i, v)
		if k, ok := pyIndex(i, n); ok {
			m.ok(step, "Set", err)
			m.s[k] = v
		} else {
			m.isIndexErr(step, "Set", err)
		}
	case 4:
		err := m.l.Delete(ctx, i)
		if k, ok := pyIndex(i, n); ok {
			m.ok(step, "Delete", err)
			m.s = slices.Delete(m.s, k, k+1)
		} else {
			m.isIndexErr(step, "Delete", err)
		}
	case 5:
		var got []int
		err := m.l.Slice(ctx, i, j, &got)
		a, b := pyBounds(i, j, n)
		m.sameSlice(step, "Slice", err, got, m.s[a:b])
	case 6:
		vals := []int{v, v + 1, v + 2}[:r.IntN(3)]
		m.ok(step, "SetSlice", m.l.SetSlice(ctx, i, j, vals))
		a, b := pyBounds(i, j, n)
		m.s = slices.Concat(m.s[:a], vals, m.s[b:])
	case 7:
		m.ok(step, "DeleteSlice", m.l.DeleteSlice(ctx, i, j))
		a, b := pyBounds(i, j, n)
		m.s = slices.Delete(m.s, a, b)
	case 8:
		m.ok(step, "Insert", m.l.Insert(ctx, i, v))
		a, _ := pyBounds(i, i, n)
		m.s = slices.Insert(m.s, a, v)
	case 9:
		var got int
		err := m.l.Pop(ctx, i, &got)
		if k, ok := pyIndex(i, n); ok {
			m.same(step, "Pop", err, got, m.s[k])
			m.s = slices.Delete(m.s, k, k+1)
		} else {
			m.isIndexErr(step, "Pop", err)
		}
	case 10:
		err := m.l.Remove(ctx, v)
		if k := slices.Index(m.s, v); k >= 0 {
			m.ok(step, "Remove", err)
			m.s = slices.Delete(m.s, k, k+1)
		} else if !errors.Is(err, cyberdb.ErrNotFound) {
			m.t.Fatalf("step %d: Remove of absent %d: %v", step, v, err)
		}
	case 11:
		c, err := m.l.Count(ctx, v)
		want := 0
		for _, x := range m.s {
			if x == v {
				want++
			}
		}
		m.same(step, "Count", err, c, want)
	case 12:
		k, err := m.l.Index(ctx, v)
		if want := slices.Index(m.s, v); want >= 0 {
			m.same(step, "Index", err, k, want)
		} else if !errors.Is(err, cyberdb.ErrNotFound) {
			m.t.Fatalf("step %d: Index of absent %d: %v", step, v, err)
		}
	}
}

func (m *listModel) ok(step int, what string, err error) {
	m.t.Helper()
	if err != nil {
		m.t.Fatalf("step %d: %s: %v", step, what, err)
	}
}

func (m *listModel) same(step int, what string, err error, got, want int) {
	m.t.Helper()
	m.ok(step, what, err)
	if got != want {
		m.t.Fatalf("step %d: %s = %d, want %d (model %v)", step, what, got, want, m.s)
	}
}

func (m *listModel) sameSlice(step int, what string, err error, got, want []int) {
	m.t.Helper()
	m.ok(step, what, err)
	if !slices.Equal(got, want) && len(got)+len(want) > 0 {
		m.t.Fatalf("step %d: %s = %v, want %v", step, what, got, want)
	}
}

func (m *listModel) isIndexErr(step int, what string, err error) {
	m.t.Helper()
	if !errors.Is(err, cyberdb.ErrIndex) {
		m.t.Fatalf("step %d: %s out of range: %v, want ErrIndex", step, what, err)
	}
}

// checkAll compares the whole list, then reverses and sorts both.
func (m *listModel) checkAll(ctx context.Context) {
	t := m.t
	var got []int
	must(t, m.l.ToSlice(ctx, &got))
	m.sameSlice(-1, "ToSlice", nil, got, m.s)
	n, err := m.l.Len(ctx)
	m.same(-1, "Len", err, n, len(m.s))
	must(t, m.l.Reverse(ctx))
	slices.Reverse(m.s)
	must(t, m.l.ToSlice(ctx, &got))
	m.sameSlice(-1, "Reverse", nil, got, m.s)
	must(t, m.l.Sort(ctx, nil))
	slices.Sort(m.s)
	must(t, m.l.ToSlice(ctx, &got))
	m.sameSlice(-1, "Sort", nil, got, m.s)
	must(t, m.l.Extend(ctx, []int{7, 8}))
	must(t, m.l.Clear(ctx))
	if n, err := m.l.Len(ctx); err != nil || n != 0 {
		t.Fatalf("Len after Clear = %d, %v", n, err)
	}
}
