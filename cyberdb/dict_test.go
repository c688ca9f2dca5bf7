package cyberdb_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func TestDict_FalsyValuesRoundTrip(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "falsy")
		must(t, err)
		cases := []struct {
			name string
			v    any
			dst  func() any
		}{
			{"zero", 0, func() any { return new(int) }},
			{"empty string", "", func() any { return new(string) }},
			{"false", false, func() any { return new(bool) }},
			{"empty slice", []int{}, func() any { return new([]int) }},
			{"empty map", map[string]int{}, func() any { return new(map[string]int) }},
			{"nil", nil, func() any { return new(any) }},
			{"zero float", 0.0, func() any { return new(float64) }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				must(t, d.Set(ctx, c.name, c.v))
				dst := c.dst()
				found, err := d.Get(ctx, c.name, dst)
				must(t, err)
				if !found {
					t.Fatal("not found")
				}
				got := reflect.ValueOf(dst).Elem().Interface()
				if c.v == nil && got != nil || c.v != nil && !reflect.DeepEqual(got, c.v) {
					t.Fatalf("got %#v, want %#v", got, c.v)
				}
			})
		}
	})
}

func TestDict_Tour(t *testing.T) {
	type user struct {
		Name string
		Age  int
	}
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "centre", map[string]any{"content": "Hello CyberDB!"})
		must(t, err)
		var s string
		found, err := d.Get(ctx, "content", &s)
		must(t, err)
		if !found || s != "Hello CyberDB!" {
			t.Fatalf("Get = %q, %v", s, found)
		}
		must(t, d.Set(ctx, "u", user{"ann", 30}))
		var u user
		if _, err := d.Get(ctx, "u", &u); err != nil || u != (user{"ann", 30}) {
			t.Fatalf("Get struct = %+v, %v", u, err)
		}
		if _, err := d.Get(ctx, "content", new(int)); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("decode string into int: %v, want ErrWrongType", err)
		}
		if _, err := d.Incr(ctx, "content", 1); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("Incr of a string: %v, want ErrWrongType", err)
		}
	})
}

func TestDict_AtomicOps(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "atomic")
		must(t, err)
		checkInt := func(got int64, err error, want int64) {
			t.Helper()
			if err != nil || got != want {
				t.Fatalf("got %d, %v; want %d", got, err, want)
			}
		}
		n, err := d.Incr(ctx, "n", 5)
		checkInt(n, err, 5)
		n, err = d.Incr(ctx, "n", -7)
		checkInt(n, err, -2)
		must(t, d.Set(ctx, "max", int64(math.MaxInt64)))
		if _, err := d.Incr(ctx, "max", 1); !errors.Is(err, cyberdb.ErrOverflow) {
			t.Fatalf("Incr past MaxInt64: %v", err)
		}
		f, err := d.IncrFloat(ctx, "n", 0.5)
		if err != nil || f != -1.5 {
			t.Fatalf("IncrFloat = %v, %v", f, err)
		}
		ok, err := d.SetIfAbsent(ctx, "once", "a")
		must(t, err)
		ok2, err := d.SetIfAbsent(ctx, "once", "b")
		must(t, err)
		if !ok || ok2 {
			t.Fatalf("SetIfAbsent = %v then %v", ok, ok2)
		}
		swapped, err := d.CompareAndSwap(ctx, "once", "x", "c")
		must(t, err)
		if swapped {
			t.Fatal("CompareAndSwap with a wrong old value swapped")
		}
		swapped, err = d.CompareAndSwap(ctx, "once", "a", "c")
		must(t, err)
		if !swapped {
			t.Fatal("CompareAndSwap with the right old value did not swap")
		}
		swapped, err = d.CompareAndSwap(ctx, "absent", nil, "c")
		must(t, err)
		if swapped {
			t.Fatal("CompareAndSwap of an absent key swapped")
		}
		var old string
		existed, err := d.GetAndSet(ctx, "once", "d", &old)
		must(t, err)
		if !existed || old != "c" {
			t.Fatalf("GetAndSet = %q, %v", old, existed)
		}
	})
}

func TestDict_PopItemEmpty(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "empty")
		must(t, err)
		if _, err := d.PopItem(ctx, nil); !errors.Is(err, cyberdb.ErrNotFound) {
			t.Fatalf("PopItem of empty dict: %v", err)
		}
	})
}

// TestDict_Model applies random operations to a Dict and to a Go map and
// compares every result.
func TestDict_Model(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 0))
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "model")
		must(t, err)
		m := dictModel{t: t, d: d, m: map[string]int64{}}
		for i := range 600 {
			key := fmt.Sprintf("k%d", r.IntN(20))
			m.step(ctx, i, r.IntN(14), key, r.Int64N(100))
		}
		m.checkAll(ctx)
	})
}
