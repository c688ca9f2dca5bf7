package cyberdb_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func TestUpdate_ConcurrentIncrementsExact(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		const workers = 8
		rounds := 100
		if testing.Short() {
			rounds = 25
		}
		vers := make([][]uint64, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for range rounds {
					v, err := d.Update(ctx, "n", primIncr)
					if err != nil {
						t.Errorf("Update: %v", err)
						return
					}
					vers[w] = append(vers[w], v)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		var n int
		ver, found, err := d.GetVersion(ctx, "n", &n)
		must(t, err)
		if !found || n != workers*rounds {
			t.Fatalf("counter = %d, %v; want %d", n, found, workers*rounds)
		}
		var all []uint64
		for w, vs := range vers {
			if !slices.IsSorted(vs) {
				t.Fatalf("versions of worker %d do not grow: %v", w, vs)
			}
			all = append(all, vs...)
		}
		slices.Sort(all)
		if len(slices.Compact(slices.Clone(all))) != len(all) {
			t.Fatal("two Updates returned the same version")
		}
		if all[len(all)-1] != ver {
			t.Fatalf("latest version %d, want the largest Update returned, %d", ver, all[len(all)-1])
		}
	})
}

func TestUpdate_FuncErrorChangesNothing(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"k": 1})
		must(t, err)
		before, _, err := d.GetVersion(ctx, "k", nil)
		must(t, err)
		boom := errors.New("boom")
		fail := func(cyberdb.Value, bool) (any, error) { return 99, boom }
		for _, key := range []string{"k", "absent"} {
			v, err := d.Update(ctx, key, fail)
			if !errors.Is(err, boom) || v != 0 {
				t.Fatalf("Update(%q) with a failing fn = %d, %v; want 0, boom", key, v, err)
			}
		}
		var n int
		ver, found, err := d.GetVersion(ctx, "k", &n)
		must(t, err)
		if !found || n != 1 || ver != before {
			t.Fatalf("k = %d (found %v) version %d; want 1 at version %d", n, found, ver, before)
		}
		if has(t, d, "absent") {
			t.Fatal("a failed Update created its key")
		}
	})
}

func TestUpdate_AbsentKey(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		calls := 0
		ver, err := d.Update(ctx, "k", func(old cyberdb.Value, found bool) (any, error) {
			calls++
			if found || len(old.Bytes()) != 0 {
				return nil, fmt.Errorf("absent key passed as found %v, value %v", found, old)
			}
			return []string{"first"}, nil
		})
		must(t, err)
		if calls != 1 || ver == 0 {
			t.Fatalf("Update called fn %d times and returned version %d", calls, ver)
		}
		var got []string
		gv, found, err := d.GetVersion(ctx, "k", &got)
		must(t, err)
		if !found || !slices.Equal(got, []string{"first"}) || gv != ver {
			t.Fatalf("after Update: %v (found %v) at version %d; want [first] at %d", got, found, gv, ver)
		}
		// fn sees the current value the next time.
		ver2, err := d.Update(ctx, "k", func(old cyberdb.Value, found bool) (any, error) {
			var s []string
			if err := old.Decode(&s); err != nil || !found {
				return nil, fmt.Errorf("old %v found %v: %v", old, found, err)
			}
			return append(s, "second"), nil
		})
		must(t, err)
		if ver2 <= ver {
			t.Fatalf("second Update version %d, not after %d", ver2, ver)
		}
		_, err = d.Get(ctx, "k", &got)
		must(t, err)
		if !slices.Equal(got, []string{"first", "second"}) {
			t.Fatalf("after two Updates: %v", got)
		}
		// Returning the old Value stores it again, as a new version.
		ver3, err := d.Update(ctx, "k", func(old cyberdb.Value, _ bool) (any, error) { return old, nil })
		must(t, err)
		if ver3 <= ver2 {
			t.Fatalf("Update to the same value: version %d, not after %d", ver3, ver2)
		}
		_, err = d.Get(ctx, "k", &got)
		must(t, err)
		if !slices.Equal(got, []string{"first", "second"}) {
			t.Fatalf("Update with the old Value stored %v", got)
		}
	})
}

func TestUpdate_RetriesOnConflict(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"n": 1})
		must(t, err)
		other := openClient(t, db.Dir()) // another writer
		od, err := other.Dict(ctx, "d")
		must(t, err)
		var seen []int
		_, err = d.Update(ctx, "n", func(old cyberdb.Value, found bool) (any, error) {
			var n int
			if err := old.Decode(&n); err != nil {
				return nil, err
			}
			seen = append(seen, n)
			if len(seen) == 1 {
				// Another writer comes in between the read and the write.
				must(t, od.Set(ctx, "n", 100))
			}
			return n + 1, nil
		})
		must(t, err)
		if !slices.Equal(seen, []int{1, 100}) {
			t.Fatalf("fn saw %v, want [1 100]: one retry after the conflict", seen)
		}
		if n := intOf(t, d, "n"); n != 101 {
			t.Fatalf("n = %d, want 101", n)
		}
	})
}

func TestUpdate_GivesUpWithConflict(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		if testing.Short() && !db.IsLeader() {
			t.Skip("a thousand lost rounds over the socket; the leader role covers it under -short")
		}
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"n": 0})
		must(t, err)
		calls := 0
		_, err = d.Update(ctx, "n", func(old cyberdb.Value, found bool) (any, error) {
			calls++
			if _, err := d.Incr(ctx, "n", 1); err != nil { // always lose the race
				return nil, err
			}
			return -1, nil
		})
		if !errors.Is(err, cyberdb.ErrConflict) {
			t.Fatalf("Update that always loses = %v, want ErrConflict", err)
		}
		if n := intOf(t, d, "n"); n != calls || calls < 2 {
			t.Fatalf("n = %d after %d calls: Update stored its own value", n, calls)
		}
	})
}

func TestUpdate_VersionsGrow(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		e, err := db.CreateDict(ctx, "e")
		must(t, err)
		if v, found, err := d.GetVersion(ctx, "k", nil); err != nil || found || v != 0 {
			t.Fatalf("GetVersion of a missing key = %d, %v, %v; want 0, false", v, found, err)
		}
		var last uint64
		step := func(what string) {
			t.Helper()
			v, found, err := d.GetVersion(ctx, "k", nil)
			must(t, err)
			if !found || v <= last {
				t.Fatalf("after %s: version %d (found %v), not after %d", what, v, found, last)
			}
			last = v
		}
		must(t, d.Set(ctx, "k", 1))
		step("Set")
		must(t, d.Set(ctx, "k", 1))
		step("Set of the same value")
		must(t, e.Set(ctx, "k", 1)) // other tables share the revisions
		if v, _, _ := e.GetVersion(ctx, "k", nil); v <= last {
			t.Fatalf("version %d in another table, not after %d", v, last)
		}
		_, err = d.Incr(ctx, "k", 1)
		must(t, err)
		step("Incr")
		_, err = d.Update(ctx, "k", primIncr)
		must(t, err)
		step("Update")
		if ok, err := d.CompareAndSwap(ctx, "k", 3, 4); err != nil || !ok {
			t.Fatalf("CompareAndSwap(3, 4) = %v, %v", ok, err)
		}
		step("CompareAndSwap")
		_, err = d.Delete(ctx, "k")
		must(t, err)
		if v, found, _ := d.GetVersion(ctx, "k", nil); found || v != 0 {
			t.Fatalf("GetVersion after Delete = %d, %v", v, found)
		}
		must(t, d.Set(ctx, "k", 1))
		step("Set after Delete")

		// A write that changes nothing keeps the version.
		if ok, err := d.SetIfAbsent(ctx, "k", 2); err != nil || ok {
			t.Fatalf("SetIfAbsent of an existing key = %v, %v", ok, err)
		}
		if v, _, _ := d.GetVersion(ctx, "k", nil); v != last {
			t.Fatalf("a refused SetIfAbsent changed the version to %d from %d", v, last)
		}
	})
}

func TestUpdate_MissingTable(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		must(t, db.DropTable(ctx, "d"))
		called := false
		_, err = d.Update(ctx, "k", func(cyberdb.Value, bool) (any, error) { called = true; return 1, nil })
		if !errors.Is(err, cyberdb.ErrNoTable) || called {
			t.Fatalf("Update on a dropped dict = %v (fn called %v), want ErrNoTable before fn", err, called)
		}
		if _, _, err := d.GetVersion(ctx, "k", nil); !errors.Is(err, cyberdb.ErrNoTable) {
			t.Fatalf("GetVersion on a dropped dict = %v, want ErrNoTable", err)
		}
		// A list now holds the name.
		_, err = db.CreateList(ctx, "d")
		must(t, err)
		if _, err := d.Update(ctx, "k", primIncr); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("Update on a list = %v, want ErrWrongType", err)
		}
	})
}

func TestUpdate_UnencodableValue(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"k": 1})
		must(t, err)
		_, err = d.Update(ctx, "k", func(cyberdb.Value, bool) (any, error) { return make(chan int), nil })
		if !errors.Is(err, cyberdb.ErrInvalid) {
			t.Fatalf("Update to a channel = %v, want ErrInvalid", err)
		}
		if n := intOf(t, d, "k"); n != 1 {
			t.Fatalf("k = %d after a refused Update", n)
		}
	})
}

func TestUpdate_ExpiredKeyIsAbsent(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		must(t, d.SetTTL(ctx, "n", 41, shortTTL))
		waitGone(t, d, "n")
		if v, found, err := d.GetVersion(ctx, "n", nil); err != nil || found || v != 0 {
			t.Fatalf("GetVersion of an expired key = %d, %v, %v; want 0, false", v, found, err)
		}
		_, err = d.Update(ctx, "n", func(old cyberdb.Value, found bool) (any, error) {
			if found {
				return nil, fmt.Errorf("expired key passed as found, value %v", old)
			}
			return 1, nil
		})
		must(t, err)
		if n := intOf(t, d, "n"); n != 1 {
			t.Fatalf("n = %d, want 1", n)
		}
	})
}

// Update stores its value as Set does: the key's deadline goes, and the
// dict's default TTL, if any, applies.
func TestUpdate_DeadlineAsSet(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		must(t, d.SetTTL(ctx, "k", 1, time.Hour))
		_, err = d.Update(ctx, "k", primIncr)
		must(t, err)
		if left, ok := ttlOf(t, d, "k"); !ok || left != cyberdb.NoTTL {
			t.Fatalf("TTL after Update of a key with a deadline = %v, %v; want NoTTL", left, ok)
		}
		must(t, d.SetDefaultTTL(ctx, time.Minute))
		_, err = d.Update(ctx, "k", primIncr)
		must(t, err)
		if left, ok := ttlOf(t, d, "k"); !ok || left <= 0 || left > time.Minute {
			t.Fatalf("TTL after Update in a dict with a default TTL = %v, %v; want at most a minute", left, ok)
		}
	})
}
