package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// expiryWait bounds the polls for a key to expire, well past the short
// TTLs of these tests: the leader removes a key within milliseconds of its
// deadline, but the race detector and a loaded machine slow everything.
const expiryWait = 3 * time.Second

// shortTTL is the time to live of the keys a test waits to see expire.
const shortTTL = 100 * time.Millisecond

// dictView is what the reads of a dict report, for comparing them.
type dictView struct {
	len  int
	keys []string
	all  []string // the keys All yields, in order
	m    map[string]any
}

// viewDict reads d with Len, Keys, All and ToMap.
func viewDict(t *testing.T, d *cyberdb.Dict) dictView {
	t.Helper()
	ctx := testCtx(t)
	var v dictView
	var err error
	v.len, err = d.Len(ctx)
	must(t, err)
	v.keys, err = d.Keys(ctx)
	must(t, err)
	for e, err := range d.All(ctx) {
		must(t, err)
		v.all = append(v.all, e.Key)
	}
	must(t, d.ToMap(ctx, &v.m))
	return v
}

// wantKeys checks that every read of d sees exactly keys (sorted).
func wantKeys(t *testing.T, d *cyberdb.Dict, keys ...string) {
	t.Helper()
	v := viewDict(t, d)
	if v.len != len(keys) || !slices.Equal(v.keys, keys) || !slices.Equal(v.all, keys) || len(v.m) != len(keys) {
		t.Fatalf("Len %d, Keys %q, All %q, ToMap %v; want the keys %q", v.len, v.keys, v.all, v.m, keys)
	}
	for _, k := range keys {
		if _, ok := v.m[k]; !ok {
			t.Fatalf("ToMap %v lacks %q", v.m, k)
		}
	}
}

// has reports whether key exists, failing the test on error.
func has(t *testing.T, d *cyberdb.Dict, key string) bool {
	t.Helper()
	ok, err := d.Has(testCtx(t), key)
	must(t, err)
	return ok
}

// intOf returns the integer stored under key, failing the test on error
// or when the key is missing.
func intOf(t *testing.T, d *cyberdb.Dict, key string) int {
	t.Helper()
	var n int
	found, err := d.Get(testCtx(t), key, &n)
	must(t, err)
	if !found {
		t.Fatalf("key %q is missing", key)
	}
	return n
}

// ttlOf returns TTL(key), failing the test on error.
func ttlOf(t *testing.T, d *cyberdb.Dict, key string) (time.Duration, bool) {
	t.Helper()
	left, ok, err := d.TTL(testCtx(t), key)
	must(t, err)
	return left, ok
}

// waitGone waits until key of d no longer exists.
func waitGone(t *testing.T, d *cyberdb.Dict, key string) {
	t.Helper()
	ctest.Eventually(t, expiryWait, fmt.Sprintf("key %q to expire", key), func() bool { return !has(t, d, key) })
}

func TestTTL_ExpiryHidesKeyFromEveryRead(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"keep": 1})
		must(t, err)
		must(t, d.SetTTL(ctx, "k", "v", shortTTL))
		var s string
		if found, err := d.Get(ctx, "k", &s); err != nil || !found || s != "v" {
			t.Fatalf("Get before the deadline = %q, %v, %v", s, found, err)
		}
		wantKeys(t, d, "k", "keep")
		if left, ok := ttlOf(t, d, "k"); !ok || left <= 0 || left > shortTTL {
			t.Fatalf("TTL = %v, %v; want in (0, %v]", left, ok, shortTTL)
		}

		ctest.Eventually(t, expiryWait, "Get to stop finding the key", func() bool {
			found, err := d.Get(ctx, "k", nil)
			must(t, err)
			return !found
		})
		// Once Get misses the key, no other read may still see it.
		if has(t, d, "k") {
			t.Fatal("Has finds a key Get misses")
		}
		wantKeys(t, d, "keep")
		if left, ok := ttlOf(t, d, "k"); ok {
			t.Fatalf("TTL of an expired key = %v, exists", left)
		}
		var vals []int
		must(t, d.Values(ctx, &vals))
		if !slices.Equal(vals, []int{1}) {
			t.Fatalf("Values = %v, want [1]", vals)
		}
		if found, err := d.Delete(ctx, "k"); err != nil || found {
			t.Fatalf("Delete of an expired key = %v, %v; want false", found, err)
		}
	})
}

func TestTTL_TTLExpirePersist(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"plain": "p"})
		must(t, err)

		if left, ok := ttlOf(t, d, "plain"); !ok || left != cyberdb.NoTTL {
			t.Fatalf("TTL without deadline = %v, %v; want NoTTL, true", left, ok)
		}
		if left, ok := ttlOf(t, d, "missing"); ok || left != 0 {
			t.Fatalf("TTL of a missing key = %v, %v; want 0, false", left, ok)
		}

		verBefore, _, err := d.GetVersion(ctx, "plain", nil)
		must(t, err)
		if ok, err := d.Expire(ctx, "plain", time.Hour); err != nil || !ok {
			t.Fatalf("Expire of an existing key = %v, %v", ok, err)
		}
		if left, ok := ttlOf(t, d, "plain"); !ok || left <= 59*time.Minute || left > time.Hour {
			t.Fatalf("TTL after Expire(1h) = %v, %v", left, ok)
		}
		var s string
		ver, found, err := d.GetVersion(ctx, "plain", &s)
		must(t, err)
		if !found || s != "p" || ver != verBefore {
			t.Fatalf("after Expire: %q, found %v, version %d; want the value and version %d kept", s, found, ver, verBefore)
		}
		if ok, err := d.Expire(ctx, "missing", time.Hour); err != nil || ok {
			t.Fatalf("Expire of a missing key = %v, %v; want false", ok, err)
		}
		if has(t, d, "missing") {
			t.Fatal("Expire created a missing key")
		}

		// Expire can shorten a deadline too.
		if ok, err := d.Expire(ctx, "plain", time.Minute); err != nil || !ok {
			t.Fatalf("Expire again = %v, %v", ok, err)
		}
		if left, _ := ttlOf(t, d, "plain"); left > time.Minute {
			t.Fatalf("TTL after Expire(1m) = %v", left)
		}

		if had, err := d.Persist(ctx, "plain"); err != nil || !had {
			t.Fatalf("Persist of a key with a deadline = %v, %v; want true", had, err)
		}
		if left, ok := ttlOf(t, d, "plain"); !ok || left != cyberdb.NoTTL {
			t.Fatalf("TTL after Persist = %v, %v; want NoTTL", left, ok)
		}
		ver, _, err = d.GetVersion(ctx, "plain", nil)
		must(t, err)
		if ver != verBefore {
			t.Fatalf("Persist changed the version: %d, want %d", ver, verBefore)
		}
		if had, err := d.Persist(ctx, "plain"); err != nil || had {
			t.Fatalf("Persist of a key without deadline = %v, %v; want false", had, err)
		}
		if had, err := d.Persist(ctx, "missing"); err != nil || had {
			t.Fatalf("Persist of a missing key = %v, %v; want false", had, err)
		}

		// A key made to expire soon goes; one persisted in time stays.
		must(t, d.Set(ctx, "soon", 1))
		must(t, d.Set(ctx, "saved", 2))
		if _, err := d.Expire(ctx, "soon", shortTTL); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Expire(ctx, "saved", time.Second); err != nil {
			t.Fatal(err)
		}
		if had, err := d.Persist(ctx, "saved"); err != nil || !had {
			t.Fatalf("Persist = %v, %v", had, err)
		}
		waitGone(t, d, "soon")
		if !has(t, d, "saved") {
			t.Fatal("a persisted key expired")
		}
	})
}

func TestTTL_WritesAndDeadlines(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)

		// Set without a TTL clears the deadline.
		must(t, d.SetTTL(ctx, "k", 1, time.Hour))
		must(t, d.Set(ctx, "k", 2))
		if left, ok := ttlOf(t, d, "k"); !ok || left != cyberdb.NoTTL {
			t.Fatalf("TTL after Set = %v, %v; want NoTTL", left, ok)
		}
		// SetTTL replaces a deadline.
		must(t, d.SetTTL(ctx, "k", 3, time.Hour))
		must(t, d.SetTTL(ctx, "k", 4, time.Minute))
		if left, _ := ttlOf(t, d, "k"); left <= 0 || left > time.Minute {
			t.Fatalf("TTL after SetTTL(1m) = %v", left)
		}

		// Incr keeps the deadline, which still ends the key.
		must(t, d.SetTTL(ctx, "n", 1, shortTTL))
		if n, err := d.Incr(ctx, "n", 1); err != nil || n != 2 {
			t.Fatalf("Incr = %d, %v", n, err)
		}
		if left, ok := ttlOf(t, d, "n"); !ok || left <= 0 || left > shortTTL {
			t.Fatalf("TTL after Incr = %v, %v; want the deadline kept", left, ok)
		}
		// An Incr that creates a key gives it no deadline.
		if _, err := d.Incr(ctx, "fresh", 1); err != nil {
			t.Fatal(err)
		}
		if left, _ := ttlOf(t, d, "fresh"); left != cyberdb.NoTTL {
			t.Fatalf("TTL of a key created by Incr = %v, want NoTTL", left)
		}
		waitGone(t, d, "n")
		// Incr after the expiry starts again from zero, without deadline.
		if n, err := d.Incr(ctx, "n", 5); err != nil || n != 5 {
			t.Fatalf("Incr of an expired key = %d, %v; want 5", n, err)
		}
		if left, _ := ttlOf(t, d, "n"); left != cyberdb.NoTTL {
			t.Fatalf("TTL after Incr recreated the key = %v, want NoTTL", left)
		}
		// SetIfAbsent sees an expired key as absent.
		must(t, d.SetTTL(ctx, "nx", "old", shortTTL))
		waitGone(t, d, "nx")
		if ok, err := d.SetIfAbsent(ctx, "nx", "new"); err != nil || !ok {
			t.Fatalf("SetIfAbsent over an expired key = %v, %v; want true", ok, err)
		}
	})
}

func TestTTL_DefaultTTL(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"before": 0})
		must(t, err)
		must(t, d.SetDefaultTTL(ctx, shortTTL))

		must(t, d.Set(ctx, "a", 1))
		must(t, d.SetMany(ctx, map[string]int{"m1": 1, "m2": 2}))
		if _, err := d.Incr(ctx, "counter", 1); err != nil {
			t.Fatal(err)
		}
		must(t, d.SetTTL(ctx, "explicit", 1, time.Hour))
		must(t, d.SetTTL(ctx, "reset", 1, time.Hour))
		must(t, d.Set(ctx, "reset", 2)) // Set takes the default, not NoTTL

		for _, k := range []string{"a", "m1", "m2", "counter", "reset"} {
			if left, ok := ttlOf(t, d, k); !ok || left <= 0 || left > shortTTL {
				t.Fatalf("TTL of %q under a default of %v = %v, %v", k, shortTTL, left, ok)
			}
		}
		if left, _ := ttlOf(t, d, "explicit"); left <= shortTTL {
			t.Fatalf("TTL of a key set with its own TTL = %v, want about 1h", left)
		}
		if left, _ := ttlOf(t, d, "before"); left != cyberdb.NoTTL {
			t.Fatalf("TTL of a key written before the default = %v, want NoTTL", left)
		}
		ctest.Eventually(t, expiryWait, "keys with the default TTL to expire", func() bool {
			n, err := d.Len(ctx)
			must(t, err)
			return n == 2
		})
		wantKeys(t, d, "before", "explicit")

		must(t, d.SetDefaultTTL(ctx, 0))
		must(t, d.Set(ctx, "after", 1))
		if left, _ := ttlOf(t, d, "after"); left != cyberdb.NoTTL {
			t.Fatalf("TTL after the default was removed = %v, want NoTTL", left)
		}
	})
}

func TestTTL_InvalidTTL(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"k": 1})
		must(t, err)
		for _, ttl := range []time.Duration{0, -1, -time.Hour} {
			if err := d.SetTTL(ctx, "new", 1, ttl); !errors.Is(err, cyberdb.ErrInvalid) {
				t.Errorf("SetTTL(%v) = %v, want ErrInvalid", ttl, err)
			}
			if ok, err := d.Expire(ctx, "k", ttl); !errors.Is(err, cyberdb.ErrInvalid) || ok {
				t.Errorf("Expire(%v) = %v, %v; want ErrInvalid", ttl, ok, err)
			}
			if _, err := d.IncrWithTTL(ctx, "n", 1, ttl); !errors.Is(err, cyberdb.ErrInvalid) {
				t.Errorf("IncrWithTTL(%v) = %v, want ErrInvalid", ttl, err)
			}
		}
		for _, ttl := range []time.Duration{-1, -time.Hour} {
			if err := d.SetDefaultTTL(ctx, ttl); !errors.Is(err, cyberdb.ErrInvalid) {
				t.Errorf("SetDefaultTTL(%v) = %v, want ErrInvalid", ttl, err)
			}
		}
		// The longest TTL is accepted, and the key lives.
		must(t, d.SetTTL(ctx, "forever", 1, time.Duration(math.MaxInt64)))
		if left, ok := ttlOf(t, d, "forever"); !ok || left < 100*365*24*time.Hour {
			t.Fatalf("TTL after SetTTL(MaxInt64) = %v, %v", left, ok)
		}
		_, err = d.Delete(ctx, "forever")
		must(t, err)
		// Nothing was written, and k kept no deadline.
		wantKeys(t, d, "k")
		if left, _ := ttlOf(t, d, "k"); left != cyberdb.NoTTL {
			t.Fatalf("TTL of k = %v after refused Expires, want NoTTL", left)
		}
		must(t, d.Set(ctx, "after", 1))
		if left, _ := ttlOf(t, d, "after"); left != cyberdb.NoTTL {
			t.Fatalf("a refused SetDefaultTTL left a default: TTL %v", left)
		}
	})
}

func TestTTL_OnMissingTable(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		must(t, db.DropTable(ctx, "d"))
		checks := map[string]error{}
		checks["SetTTL"] = d.SetTTL(ctx, "k", 1, time.Minute)
		_, checks["Expire"] = d.Expire(ctx, "k", time.Minute)
		_, checks["Persist"] = d.Persist(ctx, "k")
		_, _, checks["TTL"] = d.TTL(ctx, "k")
		_, checks["IncrWithTTL"] = d.IncrWithTTL(ctx, "k", 1, time.Minute)
		checks["SetDefaultTTL"] = d.SetDefaultTTL(ctx, time.Minute)
		for name, err := range checks {
			if !errors.Is(err, cyberdb.ErrNoTable) {
				t.Errorf("%s on a dropped dict = %v, want ErrNoTable", name, err)
			}
		}
	})
}

func TestTTL_IncrWithTTLFixedWindow(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "rate")
		must(t, err)
		const window = 200 * time.Millisecond

		var first time.Duration
		for want := int64(1); want <= 3; want++ {
			n, err := d.IncrWithTTL(ctx, "ip", 1, window)
			if err != nil || n != want {
				t.Fatalf("IncrWithTTL #%d = %d, %v", want, n, err)
			}
			left, ok := ttlOf(t, d, "ip")
			if !ok || left <= 0 || left > window {
				t.Fatalf("TTL in the window = %v, %v", left, ok)
			}
			if want == 1 {
				first = left
			} else if left > first {
				t.Fatalf("IncrWithTTL #%d pushed the deadline back: %v left, %v after the first", want, left, first)
			}
		}
		if n, err := d.IncrWithTTL(ctx, "ip", 10, window); err != nil || n != 13 {
			t.Fatalf("IncrWithTTL by 10 = %d, %v; want 13", n, err)
		}

		waitGone(t, d, "ip")
		// The next window starts at the delta, with a deadline of its own.
		if n, err := d.IncrWithTTL(ctx, "ip", 1, window); err != nil || n != 1 {
			t.Fatalf("IncrWithTTL in a new window = %d, %v; want 1", n, err)
		}
		if left, ok := ttlOf(t, d, "ip"); !ok || left <= 0 || left > window {
			t.Fatalf("TTL of the new window = %v, %v", left, ok)
		}

		// An existing key without deadline keeps none.
		must(t, d.Set(ctx, "forever", 7))
		if n, err := d.IncrWithTTL(ctx, "forever", 1, window); err != nil || n != 8 {
			t.Fatalf("IncrWithTTL of an existing key = %d, %v", n, err)
		}
		if left, _ := ttlOf(t, d, "forever"); left != cyberdb.NoTTL {
			t.Fatalf("IncrWithTTL gave an existing key a deadline: %v", left)
		}
		// It fails like Incr on a value that is not an integer.
		must(t, d.Set(ctx, "s", "text"))
		if _, err := d.IncrWithTTL(ctx, "s", 1, window); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("IncrWithTTL of a string = %v, want ErrWrongType", err)
		}
		if left, _ := ttlOf(t, d, "s"); left != cyberdb.NoTTL {
			t.Fatalf("a failed IncrWithTTL set a deadline: %v", left)
		}
	})
}

func TestTTL_RateLimiter(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "rate")
		must(t, err)
		const limit = 5
		allow := func() bool {
			n, err := d.IncrWithTTL(ctx, "user", 1, 150*time.Millisecond)
			must(t, err)
			return n <= limit
		}
		allowed := 0
		for range 3 * limit {
			if allow() {
				allowed++
			}
		}
		// A window lasts 150ms; 15 calls take far less unless the machine
		// stalls, when a second window may have begun.
		if allowed < limit || allowed > 2*limit {
			t.Fatalf("allowed %d of %d calls with a limit of %d", allowed, 3*limit, limit)
		}
		ctest.Eventually(t, expiryWait, "the window to reset", allow)
	})
}

func TestTTL_ExpiryIsActive(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		w := startWatch(t, db, "d", &cyberdb.WatchOptions{From: from})
		must(t, d.SetTTL(ctx, "k", "v", shortTTL))
		start := time.Now()

		// Nobody reads the key: only the leader's expirer can remove it.
		set := w.next(t)
		wantEvent(t, set, cyberdb.EventSet, "k", "v", nil)
		exp := w.next(t)
		wantEvent(t, exp, cyberdb.EventExpire, "k", nil, "v")
		if exp.Rev <= set.Rev {
			t.Fatalf("expire revision %d is not after the set's %d", exp.Rev, set.Rev)
		}
		if el := time.Since(start); el < shortTTL/2 {
			t.Fatalf("the key expired after %v, before its TTL of %v", el, shortTTL)
		}
		wantKeys(t, d)
	})
}

func TestTTL_ExpiredVersusRewritten(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		// A key rewritten without TTL before its deadline must stay.
		must(t, d.SetTTL(ctx, "k", 1, shortTTL))
		must(t, d.Set(ctx, "k", 2))
		must(t, d.SetTTL(ctx, "marker", 1, 2*shortTTL))
		waitGone(t, d, "marker")
		var v int
		if found, err := d.Get(ctx, "k", &v); err != nil || !found || v != 2 {
			t.Fatalf("rewritten key = %d, %v, %v; want 2 kept", v, found, err)
		}
	})
}

func TestTTL_SurvivesRestartAndHandover(t *testing.T) {
	type keyState struct {
		ver  uint64
		left time.Duration
	}
	// prepare writes deadlines through db; check reads them through db2,
	// after the leader restarted or handed over.
	prepare := func(t *testing.T, db *cyberdb.DB) map[string]keyState {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		def, err := db.CreateDict(ctx, "def")
		must(t, err)
		must(t, def.SetDefaultTTL(ctx, time.Hour))
		must(t, d.SetTTL(ctx, "hour", 1, time.Hour))
		must(t, d.Set(ctx, "plain", 1))
		must(t, d.SetTTL(ctx, "soon", 1, 2*shortTTL))
		st := map[string]keyState{}
		for _, k := range []string{"hour", "plain"} {
			v, _, err := d.GetVersion(ctx, k, nil)
			must(t, err)
			left, _ := ttlOf(t, d, k)
			st[k] = keyState{v, left}
		}
		return st
	}
	check := func(t *testing.T, db *cyberdb.DB, st map[string]keyState) {
		ctx := testCtx(t)
		d, err := db.Dict(ctx, "d")
		must(t, err)
		for k, was := range st {
			v, found, err := d.GetVersion(ctx, k, nil)
			must(t, err)
			left, _ := ttlOf(t, d, k)
			if !found || v != was.ver || (was.left == cyberdb.NoTTL) != (left == cyberdb.NoTTL) || left > was.left {
				t.Errorf("%q: version %d, TTL %v; before: version %d, TTL %v", k, v, left, was.ver, was.left)
			}
		}
		waitGone(t, d, "soon") // the new leader's expirer takes over the deadlines
		must(t, d.Set(ctx, "new", 1))
		if v, _, _ := d.GetVersion(ctx, "new", nil); v <= st["hour"].ver {
			t.Errorf("version %d after the restart, not above %d", v, st["hour"].ver)
		}
		def, err := db.Dict(ctx, "def")
		must(t, err)
		must(t, def.Set(ctx, "k", 1))
		if left, _ := ttlOf(t, def, "k"); left <= 59*time.Minute || left > time.Hour {
			t.Errorf("TTL under the default after the restart = %v, want about 1h", left)
		}
	}
	t.Run("leader", func(t *testing.T) {
		dir := ctest.Dir(t)
		db := openLeader(t, dir)
		st := prepare(t, db)
		must(t, db.Close())
		check(t, openLeader(t, dir), st)
	})
	t.Run("client", func(t *testing.T) {
		dir := ctest.Dir(t)
		leader := openLeader(t, dir)
		client := openClient(t, dir)
		st := prepare(t, client)
		handOver(t, leader, client)
		check(t, client, st)
	})
}

func TestTTL_LenAsKeyExpires(t *testing.T) {
	// A transaction may give a key the same deadline twice (SetTTL, Set,
	// SetTTL share its time); Len must still count the key once, also in
	// the moment between its deadline and its removal.
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"keep": 1})
		must(t, err)
		rounds := 10
		if testing.Short() {
			rounds = 4
		}
		var bad []int
		for range rounds {
			tx := db.Txn()
			tx.SetTTL(d, "k", 1, 30*time.Millisecond)
			tx.Set(d, "k", 2)
			tx.SetTTL(d, "k", 3, 30*time.Millisecond)
			must(t, tx.Commit(ctx))
			deadline := time.Now().Add(expiryWait)
			for {
				n, err := d.Len(ctx)
				must(t, err)
				if n != 1 && n != 2 {
					bad = append(bad, n)
				}
				if n == 1 && !has(t, d, "k") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the key did not expire")
				}
			}
		}
		if len(bad) > 0 {
			t.Fatalf("Len read %v (want 1 or 2) %d times as a key whose deadline a transaction set twice expired", bad[:1], len(bad))
		}
	})
}

// Many keys that expire together are all removed within seconds of their
// deadline, by the leader, without any reader: the watch sees an
// EventExpire for each.
func TestTTL_ManyKeysRemovedOnTime(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 5_000
	}
	db := openLeader(t, ctest.Dir(t))
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "sessions")
	must(t, err)
	const ttl, lagMax = 500 * time.Millisecond, 10 * time.Second
	must(t, d.SetDefaultTTL(ctx, ttl))
	m := make(map[string]int, n)
	for i := range n {
		m[fmt.Sprintf("s%06d", i)] = i
	}
	from := dictAnchor(t, db, d)
	deadline := time.Now().Add(ttl)
	wctx, cancel := context.WithDeadline(ctx, deadline.Add(lagMax))
	defer cancel()
	events := db.Watch(wctx, "sessions", &cyberdb.WatchOptions{From: from})
	must(t, d.SetMany(ctx, m))
	expired := 0
	for ev, err := range events {
		if err != nil {
			t.Fatalf("%d of %d keys removed %v after their deadline: %v", expired, n, lagMax, err)
		}
		if ev.Type == cyberdb.EventExpire {
			expired++
		}
		if expired == n {
			break
		}
	}
	t.Logf("%d keys removed %v after their deadline", n, time.Since(deadline))
	if got, err := d.Len(ctx); err != nil || got != 0 {
		t.Fatalf("Len = %d, %v after every key expired", got, err)
	}
}
