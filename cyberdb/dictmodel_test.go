package cyberdb_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// dictModel checks a Dict against a Go map of the same content.
type dictModel struct {
	t *testing.T
	d *cyberdb.Dict
	m map[string]int64
}

// step applies operation number op (one of 14) to both and compares.
func (m *dictModel) step(ctx context.Context, i, op int, key string, v int64) {
	t := m.t
	t.Helper()
	mv, mok := m.m[key]
	switch op {
	case 0, 1:
		must(t, m.d.Set(ctx, key, v))
		m.m[key] = v
	case 2:
		var got int64
		ok, err := m.d.Get(ctx, key, &got)
		m.check(i, "Get", err, [2]any{got, ok}, [2]any{mv, mok})
	case 3:
		ok, err := m.d.Delete(ctx, key)
		delete(m.m, key)
		m.check(i, "Delete", err, ok, mok)
	case 4:
		ok, err := m.d.Has(ctx, key)
		m.check(i, "Has", err, ok, mok)
	case 5:
		n, err := m.d.Len(ctx)
		m.check(i, "Len", err, n, len(m.m))
	case 6:
		var got int64
		ok, err := m.d.SetDefault(ctx, key, v, &got)
		if !mok {
			m.m[key], mv = v, v
		}
		m.check(i, "SetDefault", err, [2]any{got, ok}, [2]any{mv, mok})
	case 7:
		upd := map[string]int64{key: v, key + "x": v + 1}
		must(t, m.d.SetMany(ctx, upd))
		maps.Copy(m.m, upd)
	case 8:
		var got int64
		ok, err := m.d.Pop(ctx, key, &got)
		delete(m.m, key)
		m.check(i, "Pop", err, [2]any{got, ok}, [2]any{mv, mok})
	case 9:
		n, err := m.d.Incr(ctx, key, v)
		m.m[key] += v
		m.check(i, "Incr", err, n, m.m[key])
	case 10:
		ok, err := m.d.SetIfAbsent(ctx, key, v)
		if !mok {
			m.m[key] = v
		}
		m.check(i, "SetIfAbsent", err, ok, !mok)
	case 11:
		ok, err := m.d.CompareAndSwap(ctx, key, v, v+1)
		if mok && mv == v {
			m.m[key] = v + 1
		}
		m.check(i, "CompareAndSwap", err, ok, mok && mv == v)
	case 12:
		var got int64
		ok, err := m.d.GetAndSet(ctx, key, v, &got)
		m.m[key] = v
		m.check(i, "GetAndSet", err, [2]any{got, ok}, [2]any{mv, mok})
	case 13:
		if len(m.m) == 0 {
			return
		}
		var got int64
		k, err := m.d.PopItem(ctx, &got)
		want := slices.Max(slices.Collect(maps.Keys(m.m)))
		m.check(i, "PopItem", err, [2]any{k, got}, [2]any{want, m.m[want]})
		delete(m.m, want)
	}
}

func (m *dictModel) check(i int, what string, err error, got, want any) {
	m.t.Helper()
	if err != nil {
		m.t.Fatalf("step %d: %s: %v", i, what, err)
	}
	if got != want {
		m.t.Fatalf("step %d: %s = %v, want %v", i, what, got, want)
	}
}

// checkAll compares the whole table through every bulk read.
func (m *dictModel) checkAll(ctx context.Context) {
	t := m.t
	t.Helper()
	var got map[string]int64
	must(t, m.d.ToMap(ctx, &got))
	if !maps.Equal(got, m.m) {
		t.Fatalf("ToMap = %v, want %v", got, m.m)
	}
	keys, err := m.d.Keys(ctx)
	must(t, err)
	want := slices.Sorted(maps.Keys(m.m))
	if !slices.Equal(keys, want) {
		t.Fatalf("Keys = %v, want %v", keys, want)
	}
	var vals []int64
	must(t, m.d.Values(ctx, &vals))
	for i, k := range want {
		if vals[i] != m.m[k] {
			t.Fatalf("Values[%d] = %d, want %d", i, vals[i], m.m[k])
		}
	}
	typed := map[string]int64{}
	for e, err := range cyberdb.DictOf[int64](m.d).All(ctx) {
		must(t, err)
		typed[e.Key] = e.Value
	}
	if !maps.Equal(typed, m.m) {
		t.Fatalf("All = %v, want %v", typed, m.m)
	}
	must(t, m.d.Clear(ctx))
	if n, err := m.d.Len(ctx); err != nil || n != 0 {
		t.Fatalf("Len after Clear = %d, %v", n, err)
	}
}
