package engine

import (
	"testing"
	"time"
)

// TestVersion_Writes checks that each write stores its keys with a new,
// larger version, which Get and the write's result report.
func TestVersion_Writes(t *testing.T) {
	e, _ := newTimedEngine(t)
	newTestDict(t, e, "d", "i1", 1, "i2", 2)
	newTestDict(t, e, "other")
	created := getKey(t, e, "d", "i1").Version
	if created == 0 || getKey(t, e, "d", "i2").Version != created {
		t.Fatalf("initial keys: versions %d and %d, want one non-zero", created, getKey(t, e, "d", "i2").Version)
	}
	last := created
	seen := map[uint64]string{created: "create"}
	v := enc(t, "v")
	stores := []struct {
		name string
		op   Op
	}{
		{"set", Op{Code: OpDictSet, Table: "d", Key: "a", Value: v}},
		{"set again", Op{Code: OpDictSet, Table: "d", Key: "a", Value: v}},
		{"set other key", Op{Code: OpDictSet, Table: "d", Key: "b", Value: v}},
		{"set other table", Op{Code: OpDictSet, Table: "other", Key: "a", Value: v}},
		{"cas", Op{Code: OpDictCAS, Table: "d", Key: "a", Old: v, Value: enc(t, "w")}},
		{"cas absent", Op{Code: OpDictCAS, Table: "d", Key: "c", Value: v}},
		{"setnx", Op{Code: OpDictSetNX, Table: "d", Key: "nx", Value: v}},
		{"getandset", Op{Code: OpDictGetAndSet, Table: "d", Key: "a", Value: v}},
		{"setdefault", Op{Code: OpDictSetDefault, Table: "d", Key: "sd", Value: v}},
		{"incr", Op{Code: OpDictIncr, Table: "d", Key: "n", Delta: 1}},
		{"incr again", Op{Code: OpDictIncr, Table: "d", Key: "n", Delta: 1}},
		{"incrfloat", Op{Code: OpDictIncrFloat, Table: "d", Key: "f", Float: 1}},
		{"set with TTL", Op{Code: OpDictSet, Table: "d", Key: "a", Value: v, TTL: int64(time.Hour)}},
	}
	for _, s := range stores {
		res := ok(t, e, s.op)
		if res.Version <= last {
			t.Fatalf("%s: version %d, not above the last %d", s.name, res.Version, last)
		}
		if prev, dup := seen[res.Version]; dup {
			t.Fatalf("%s: version %d already given to %s", s.name, res.Version, prev)
		}
		seen[res.Version], last = s.name, res.Version
		if got := getKey(t, e, s.op.Table, s.op.Key); got.Version != res.Version {
			t.Fatalf("%s: Get reports version %d, the write %d", s.name, got.Version, res.Version)
		}
	}
	// Writes that store nothing report the version the key keeps.
	cur := getKey(t, e, "d", "a").Version
	keeps := []struct {
		name  string
		op    Op
		found bool
	}{
		{"cas mismatch", Op{Code: OpDictCAS, Table: "d", Key: "a", Old: enc(t, "nope"), Value: v}, false},
		{"setnx existing", Op{Code: OpDictSetNX, Table: "d", Key: "a", Value: v}, false},
		{"setdefault existing", Op{Code: OpDictSetDefault, Table: "d", Key: "a", Value: enc(t, 0)}, true},
		{"expire", Op{Code: OpDictExpire, Table: "d", Key: "a", TTL: int64(time.Minute)}, true},
		{"persist", Op{Code: OpDictPersist, Table: "d", Key: "a"}, true},
	}
	for _, k := range keeps {
		res := ok(t, e, k.op)
		if res.Found != k.found || (k.op.Code != OpDictExpire && k.op.Code != OpDictPersist && res.Version != cur) {
			t.Fatalf("%s: found %v version %d, want %v and %d", k.name, res.Found, res.Version, k.found, cur)
		}
		if got := getKey(t, e, "d", "a").Version; got != cur {
			t.Fatalf("%s changed the version from %d to %d", k.name, cur, got)
		}
	}
	if res := ok(t, e, Op{Code: OpDictCAS, Table: "d", Key: "absent", Old: v, Value: v}); res.Found || res.Version != 0 {
		t.Fatalf("cas of an absent key: %+v", res)
	}
	// Update gives all its keys one version; Delete then Set a larger one.
	ok(t, e, Op{Code: OpDictUpdate, Table: "d", Keys: []string{"a", "u"}, Values: encs(t, 1, 2)})
	ua, uu := getKey(t, e, "d", "a").Version, getKey(t, e, "d", "u").Version
	if ua != uu || ua <= last {
		t.Fatalf("update: versions %d and %d, last %d", ua, uu, last)
	}
	ok(t, e, Op{Code: OpDictDelete, Table: "d", Key: "a"})
	if got := getKey(t, e, "d", "a"); got.Found || got.Version != 0 {
		t.Fatalf("deleted key: %+v", got)
	}
	if res := ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "a", Value: v}); res.Version <= ua {
		t.Fatalf("recreated key: version %d, not above %d", res.Version, ua)
	}
}

// TestVersion_Expired checks that an expired key reads as absent, with
// version 0, and that its next write gets a new version.
func TestVersion_Expired(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	old := setTTL(t, e, "d", "k", 1, time.Second).Version
	clk.advance(time.Second)
	if got := getKey(t, e, "d", "k"); got.Found || got.Version != 0 {
		t.Fatalf("expired key: %+v", got)
	}
	res := ok(t, e, Op{Code: OpDictSetNX, Table: "d", Key: "k", Value: enc(t, 2)})
	if !res.Found || res.Version <= old {
		t.Fatalf("setnx over an expired key: %+v, old version %d", res, old)
	}
}

// TestVersion_AfterRestore restores a snapshot into a new engine, as a new
// leader does, or replays a log into one: its writes must get versions
// above those restored, so that versions and lock tokens never go back.
func TestVersion_AfterRestore(t *testing.T) {
	src, _ := newTimedEngine(t)
	j := &journal{}
	src.SetLog(j.log)
	newTestDict(t, src, "d")
	var high uint64
	for i := range 20 {
		high = ok(t, src, Op{Code: OpDictIncr, Table: "d", Key: "k", Delta: int64(i)}).Version
	}
	token := ok(t, src, Op{Code: OpLock, Key: "L", TTL: int64(time.Second), Client: 1}).Version
	ok(t, src, Op{Code: OpUnlock, Key: "L", Version: token})
	t.Run("restore", func(t *testing.T) {
		e, _ := newTimedEngine(t)
		e.Restore(src.Snapshot())
		checkAbove(t, e, high, token)
	})
	t.Run("replay", func(t *testing.T) {
		e, _ := newTimedEngine(t)
		replayAll(t, e, j.records())
		checkAbove(t, e, high, token)
	})
}

// checkAbove checks that new writes to e get versions above high, and new
// locks tokens above token.
func checkAbove(t *testing.T, e *Engine, high, token uint64) {
	t.Helper()
	if v := ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "new", Value: enc(t, 1)}).Version; v <= high {
		t.Errorf("new key: version %d, not above the restored %d", v, high)
	}
	if v := ok(t, e, Op{Code: OpDictIncr, Table: "d", Key: "k", Delta: 1}).Version; v <= high {
		t.Errorf("rewritten key: version %d, not above its restored %d", v, high)
	}
	if v := ok(t, e, Op{Code: OpLock, Key: "L", TTL: int64(time.Second), Client: 2}).Version; v <= token {
		t.Errorf("lock token %d, not above the restored %d", v, token)
	}
}
