package cyberdb_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func TestList_Tour(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "jobs", []int{3, 1, 2})
		must(t, err)
		var x int
		must(t, l.Get(ctx, -1, &x))
		if x != 2 {
			t.Fatalf("Get(-1) = %d", x)
		}
		if err := l.Get(ctx, 3, &x); !errors.Is(err, cyberdb.ErrIndex) {
			t.Fatalf("Get(3) of 3 elements: %v", err)
		}
		must(t, l.Sort(ctx, nil))
		got, err := cyberdb.ListOf[int](l).ToSlice(ctx)
		must(t, err)
		if !slices.Equal(got, []int{1, 2, 3}) {
			t.Fatalf("sorted = %v", got)
		}
		must(t, l.Append(ctx, "four"))
		if err := l.Sort(ctx, nil); !errors.Is(err, cyberdb.ErrUnsortable) {
			t.Fatalf("Sort of mixed kinds: %v", err)
		}
		if err := l.Remove(ctx, "five"); !errors.Is(err, cyberdb.ErrNotFound) {
			t.Fatalf("Remove of absent: %v", err)
		}
		if _, err := l.Index(ctx, "five"); !errors.Is(err, cyberdb.ErrNotFound) {
			t.Fatalf("Index of absent: %v", err)
		}
	})
}

func TestList_SortByField(t *testing.T) {
	type job struct {
		Name string `cbor:"name"`
		Pri  int    `cbor:"pri"`
	}
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "jobs", []job{{"b", 2}, {"a", 3}, {"c", 1}})
		must(t, err)
		jobs := cyberdb.ListOf[job](l)
		must(t, jobs.Sort(ctx, &cyberdb.SortOptions{Field: "pri", Reverse: true}))
		got, err := jobs.ToSlice(ctx)
		must(t, err)
		want := []job{{"a", 3}, {"b", 2}, {"c", 1}}
		if !slices.Equal(got, want) {
			t.Fatalf("sorted by pri desc = %v, want %v", got, want)
		}
		if err := jobs.Sort(ctx, &cyberdb.SortOptions{Field: "missing"}); !errors.Is(err, cyberdb.ErrUnsortable) {
			t.Fatalf("Sort by a missing field: %v", err)
		}
	})
}

func TestList_PopEmpty(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "empty")
		must(t, err)
		if err := l.Pop(ctx, -1, nil); !errors.Is(err, cyberdb.ErrIndex) {
			t.Fatalf("Pop of empty list: %v", err)
		}
	})
}

// TestList_Model applies random operations to a List and to a Go slice
// with Python's semantics and compares every result.
func TestList_Model(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 0))
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "model")
		must(t, err)
		m := listModel{t: t, l: l}
		for i := range 800 {
			m.step(ctx, i, r)
		}
		m.checkAll(ctx)
	})
}

func TestList_AllPages(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		want := make([]int, 1000)
		for i := range want {
			want[i] = i
		}
		l, err := db.CreateList(ctx, "big", want)
		must(t, err)
		var got []int
		for v, err := range cyberdb.ListOf[int](l).All(ctx) {
			must(t, err)
			got = append(got, v)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("All yielded %d elements, want %d in order", len(got), len(want))
		}
	})
}
