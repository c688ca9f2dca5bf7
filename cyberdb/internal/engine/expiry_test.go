package engine

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// setTTL stores v under key of the dict name with the time to live ttl
// (0: none) and returns the result.
func setTTL(t testing.TB, e *Engine, name, key string, v any, ttl time.Duration) Result {
	t.Helper()
	return ok(t, e, Op{Code: OpDictSet, Table: name, Key: key, Value: enc(t, v), TTL: int64(ttl)})
}

func TestExpiry_Set_GetAroundDeadline(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	setTTL(t, e, "d", "k", "v", 10*time.Second)
	if en, _ := rawEntry(t, e, "d", "k"); en.Exp != at(10*time.Second) {
		t.Fatalf("deadline %d, want %d", en.Exp, at(10*time.Second))
	}
	steps := []struct {
		advance time.Duration
		found   bool
	}{
		{0, true},
		{9 * time.Second, true},
		{time.Second - 1, true}, // 1ns before the deadline
		{1, false},              // at the deadline
		{time.Hour, false},
	}
	for i, s := range steps {
		clk.advance(s.advance)
		res := getKey(t, e, "d", "k")
		if res.Found != s.found || (res.Value != nil) != s.found {
			t.Fatalf("step %d: Get found %v value %x, want found %v", i, res.Found, res.Value, s.found)
		}
		if s.found && dec(t, res.Value) != "v" {
			t.Fatalf("step %d: value %v", i, dec(t, res.Value))
		}
		if has := ok(t, e, Op{Code: OpDictHas, Table: "d", Key: "k"}); has.Found != s.found {
			t.Fatalf("step %d: Has %v, want %v", i, has.Found, s.found)
		}
	}
	// A read does not remove it: only a write or an expiry does.
	if _, stored := rawEntry(t, e, "d", "k"); !stored {
		t.Fatal("a read removed the expired key")
	}
}

func TestExpiry_ReadsSkipExpired(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d", "b", 2)
	setTTL(t, e, "d", "a", 1, 5*time.Second)
	setTTL(t, e, "d", "c", 3, 20*time.Second)
	setTTL(t, e, "d", "z", 26, 5*time.Second)
	if n := dictLen(t, e, "d"); n != 4 {
		t.Fatalf("len %d before the deadlines, want 4", n)
	}
	clk.advance(6 * time.Second)
	if n := dictLen(t, e, "d"); n != 2 {
		t.Fatalf("len %d, want 2", n)
	}
	if keys := dictKeys(t, e, "d"); fmt.Sprint(keys) != "[b c]" {
		t.Fatalf("keys %v, want [b c]", keys)
	}
	if vs := ok(t, e, Op{Code: OpDictValues, Table: "d"}).Values; fmt.Sprint(decs(t, vs)) != "[2 3]" {
		t.Fatalf("values %v, want [2 3]", decs(t, vs))
	}
	items := ok(t, e, Op{Code: OpDictItems, Table: "d"})
	if fmt.Sprint(items.Keys, decs(t, items.Values)) != "[b c] [2 3]" {
		t.Fatalf("items %v %v", items.Keys, decs(t, items.Values))
	}
	for _, limit := range []int64{1, 2, 100} {
		if keys, _ := scanAll(t, e, Op{Table: "d", Limit: limit}); fmt.Sprint(keys) != "[b c]" {
			t.Fatalf("scan by %d: %v, want [b c]", limit, keys)
		}
	}
	// PopItem takes the last live key, not the expired "z".
	pop := ok(t, e, Op{Code: OpDictPopItem, Table: "d"})
	if !pop.Found || pop.Key != "c" || dec(t, pop.Value) != int64(3) {
		t.Fatalf("popitem %+v, want c=3", pop)
	}
	if n := dictLen(t, e, "d"); n != 1 {
		t.Fatalf("len %d after popitem, want 1", n)
	}
}

func TestExpiry_DictTTL(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d", "plain", 1)
	newTestList(t, e, "l")
	setTTL(t, e, "d", "timed", 1, 10*time.Second)
	clk.advance(3 * time.Second)
	tests := []struct {
		key   string
		found bool
		left  int64
	}{
		{"absent", false, -1},
		{"plain", true, -1},
		{"timed", true, int64(7 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			res := ok(t, e, Op{Code: OpDictTTL, Table: "d", Key: tt.key})
			if res.Found != tt.found || res.Int != tt.left {
				t.Fatalf("TTL: found %v left %d, want %v %d", res.Found, res.Int, tt.found, tt.left)
			}
		})
	}
	clk.advance(7*time.Second - 1)
	if left := ttlLeft(t, e, "d", "timed"); left != 1 {
		t.Fatalf("1ns before the deadline: left %d, want 1", left)
	}
	clk.advance(1)
	if res := ok(t, e, Op{Code: OpDictTTL, Table: "d", Key: "timed"}); res.Found || res.Int != -1 {
		t.Fatalf("TTL of an expired key: %+v", res)
	}
	wantErr(t, do(e, Op{Code: OpDictTTL, Table: "l", Key: "x"}), ErrWrongType, "is a list")
	wantErr(t, do(e, Op{Code: OpDictTTL, Table: "nope", Key: "x"}), ErrNoTable, "does not exist")
}

func TestExpiry_Expire(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d", "k", 1)
	newTestList(t, e, "l")
	setTTL(t, e, "d", "gone", 2, time.Second)
	clk.advance(2 * time.Second)
	before := getKey(t, e, "d", "k")
	tests := []struct {
		name  string
		op    Op
		found bool
	}{
		{"absent", Op{Key: "nope", TTL: int64(time.Second)}, false},
		{"expired", Op{Key: "gone", TTL: int64(time.Hour)}, false},
		{"present", Op{Key: "k", TTL: int64(30 * time.Second)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.op.Code, tt.op.Table = OpDictExpire, "d"
			if res := ok(t, e, tt.op); res.Found != tt.found {
				t.Fatalf("found %v, want %v", res.Found, tt.found)
			}
		})
	}
	if _, stored := rawEntry(t, e, "d", "gone"); stored {
		t.Fatal("Expire of an expired key left it stored")
	}
	if left := ttlLeft(t, e, "d", "k"); left != int64(30*time.Second) {
		t.Fatalf("left %d, want 30s", left)
	}
	after := getKey(t, e, "d", "k")
	if after.Version != before.Version || string(after.Value) != string(before.Value) {
		t.Fatalf("Expire changed the key: %+v, was %+v", after, before)
	}
	// A second Expire replaces the deadline, earlier or later.
	ok(t, e, Op{Code: OpDictExpire, Table: "d", Key: "k", TTL: int64(5 * time.Second)})
	clk.advance(5 * time.Second)
	if getKey(t, e, "d", "k").Found {
		t.Fatal("key alive past its shortened deadline")
	}
	for _, tt := range []struct {
		name string
		op   Op
		code ErrCode
		msg  string
	}{
		{"zero TTL", Op{Table: "d", Key: "k"}, ErrInvalid, "is not positive"},
		{"negative TTL", Op{Table: "d", Key: "k", TTL: -1}, ErrInvalid, "is not positive"},
		{"list", Op{Table: "l", Key: "k", TTL: 1}, ErrWrongType, "is a list"},
		{"missing table", Op{Table: "nope", Key: "k", TTL: 1}, ErrNoTable, "does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.op.Code = OpDictExpire
			wantErr(t, do(e, tt.op), tt.code, tt.msg)
		})
	}
}

func TestExpiry_Persist(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d", "plain", 1)
	setTTL(t, e, "d", "timed", 2, 10*time.Second)
	ver := getKey(t, e, "d", "timed").Version
	for _, tt := range []struct {
		key   string
		found bool
	}{{"absent", false}, {"plain", false}, {"timed", true}, {"timed", false}} {
		if res := ok(t, e, Op{Code: OpDictPersist, Table: "d", Key: tt.key}); res.Found != tt.found {
			t.Fatalf("persist %q: found %v, want %v", tt.key, res.Found, tt.found)
		}
	}
	if left := ttlLeft(t, e, "d", "timed"); left != -1 {
		t.Fatalf("left %d after persist, want -1", left)
	}
	clk.advance(time.Hour)
	res := getKey(t, e, "d", "timed")
	if !res.Found || res.Version != ver {
		t.Fatalf("persisted key: %+v, want found with version %d", res, ver)
	}
	// Persist of an expired key finds nothing and does not revive it.
	setTTL(t, e, "d", "late", 3, time.Second)
	clk.advance(time.Second)
	if ok(t, e, Op{Code: OpDictPersist, Table: "d", Key: "late"}).Found || getKey(t, e, "d", "late").Found {
		t.Fatal("persist revived an expired key")
	}
}

func TestExpiry_TableTTL_Default(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d", "pre", 0)
	newTestList(t, e, "l")
	ok(t, e, Op{Code: OpTableTTL, Table: "d", TTL: int64(30 * time.Second)})
	if td := tableOf(t, e.Snapshot(), "d"); td.TTL != int64(30*time.Second) {
		t.Fatalf("snapshot TTL %d, want 30s", td.TTL)
	}
	if left := ttlLeft(t, e, "d", "pre"); left != -1 {
		t.Fatalf("the default changed an existing key: left %d", left)
	}
	v := enc(t, "v")
	writes := []struct {
		op   Op
		keys []string
	}{
		{Op{Code: OpDictSet, Key: "set", Value: v}, []string{"set"}},
		{Op{Code: OpDictUpdate, Keys: []string{"u1", "u2"}, Values: encs(t, 1, 2)}, []string{"u1", "u2"}},
		{Op{Code: OpDictSetDefault, Key: "sd", Value: v}, []string{"sd"}},
		{Op{Code: OpDictSetNX, Key: "nx", Value: v}, []string{"nx"}},
		{Op{Code: OpDictCAS, Key: "cas", Value: v}, []string{"cas"}},
		{Op{Code: OpDictGetAndSet, Key: "gs", Value: v}, []string{"gs"}},
		{Op{Code: OpDictIncr, Key: "incr", Delta: 1}, []string{"incr"}},
		{Op{Code: OpDictIncrFloat, Key: "float", Float: 1.5}, []string{"float"}},
	}
	for _, w := range writes {
		w.op.Table = "d"
		ok(t, e, w.op)
		for _, k := range w.keys {
			if left := ttlLeft(t, e, "d", k); left != int64(30*time.Second) {
				t.Fatalf("op %d: key %q has %d left, want the default 30s", w.op.Code, k, left)
			}
		}
	}
	// An explicit TTL overrides the default.
	setTTL(t, e, "d", "explicit", 1, 5*time.Second)
	if left := ttlLeft(t, e, "d", "explicit"); left != int64(5*time.Second) {
		t.Fatalf("explicit TTL: %d left, want 5s", left)
	}
	// A write that does not store leaves the deadline alone.
	ok(t, e, Op{Code: OpDictSetDefault, Table: "d", Key: "pre", Value: v})
	ok(t, e, Op{Code: OpDictSetNX, Table: "d", Key: "pre", Value: v})
	if left := ttlLeft(t, e, "d", "pre"); left != -1 {
		t.Fatalf("a write that stored nothing gave pre a deadline: %d", left)
	}
	clk.advance(31 * time.Second)
	if keys := dictKeys(t, e, "d"); fmt.Sprint(keys) != "[pre]" || dictLen(t, e, "d") != 1 {
		t.Fatalf("after the default TTL: keys %v len %d, want [pre] 1", keys, dictLen(t, e, "d"))
	}
	// TTL 0 removes the default.
	ok(t, e, Op{Code: OpTableTTL, Table: "d"})
	setTTL(t, e, "d", "after", 1, 0)
	if left := ttlLeft(t, e, "d", "after"); left != -1 {
		t.Fatalf("no default any more, yet %d left", left)
	}
	wantErr(t, do(e, Op{Code: OpTableTTL, Table: "d", TTL: -1}), ErrInvalid, "negative TTL")
	wantErr(t, do(e, Op{Code: OpTableTTL, Table: "l", TTL: 1}), ErrWrongType, "is a list")
	wantErr(t, do(e, Op{Code: OpTableTTL, Table: "nope", TTL: 1}), ErrNoTable, "does not exist")
}

// TestExpiry_Set_ClearsDeadline checks that a write without a TTL gives
// the key no deadline (or the table's default), like SET in Redis.
func TestExpiry_Set_ClearsDeadline(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	newTestDict(t, e, "def")
	ok(t, e, Op{Code: OpTableTTL, Table: "def", TTL: int64(30 * time.Second)})
	v := enc(t, "v")
	for _, op := range []Op{
		{Code: OpDictSet, Key: "k", Value: v},
		{Code: OpDictGetAndSet, Key: "k", Value: v},
		{Code: OpDictCAS, Key: "k", Old: v, Value: v},
		{Code: OpDictUpdate, Keys: []string{"k"}, Values: encs(t, "v")},
	} {
		setTTL(t, e, "d", "k", "v", 10*time.Second)
		op.Table = "d"
		ok(t, e, op)
		if left := ttlLeft(t, e, "d", "k"); left != -1 {
			t.Fatalf("op %d without TTL left a deadline: %d", op.Code, left)
		}
		setTTL(t, e, "def", "k", "v", 100*time.Second)
		op.Table = "def"
		ok(t, e, op)
		if left := ttlLeft(t, e, "def", "k"); left != int64(30*time.Second) {
			t.Fatalf("op %d without TTL in a table with a default: %d left, want 30s", op.Code, left)
		}
	}
	clk.advance(time.Hour)
	if !getKey(t, e, "d", "k").Found {
		t.Fatal("the key rewritten without a TTL expired")
	}
}

// TestExpiry_Incr_FixedWindow uses Incr with a TTL as a fixed-window rate
// limiter: the deadline is set when the counter is created, not moved by
// later increments, and the counter restarts after the window.
func TestExpiry_Incr_FixedWindow(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "rate")
	window := int64(10 * time.Second)
	incr := func(ttl int64) int64 {
		t.Helper()
		return ok(t, e, Op{Code: OpDictIncr, Table: "rate", Key: "hits", Delta: 1, TTL: ttl}).Int
	}
	if n := incr(window); n != 1 || ttlLeft(t, e, "rate", "hits") != window {
		t.Fatalf("first hit: %d, left %d", n, ttlLeft(t, e, "rate", "hits"))
	}
	clk.advance(4 * time.Second)
	if n := incr(window); n != 2 || ttlLeft(t, e, "rate", "hits") != int64(6*time.Second) {
		t.Fatalf("second hit: %d, left %d, want 2 and 6s", n, ttlLeft(t, e, "rate", "hits"))
	}
	if n := incr(0); n != 3 || ttlLeft(t, e, "rate", "hits") != int64(6*time.Second) {
		t.Fatalf("hit without TTL: %d, left %d, want 3 and 6s", n, ttlLeft(t, e, "rate", "hits"))
	}
	clk.advance(6 * time.Second)
	if getKey(t, e, "rate", "hits").Found {
		t.Fatal("counter alive after its window")
	}
	if n := incr(window); n != 1 || ttlLeft(t, e, "rate", "hits") != window {
		t.Fatalf("new window: %d, left %d, want 1 and 10s", n, ttlLeft(t, e, "rate", "hits"))
	}

	incrF := func(ttl int64) float64 {
		t.Helper()
		return ok(t, e, Op{Code: OpDictIncrFloat, Table: "rate", Key: "f", Float: 0.5, TTL: ttl}).Float
	}
	if f := incrF(window); f != 0.5 || ttlLeft(t, e, "rate", "f") != window {
		t.Fatalf("first float: %v left %d", f, ttlLeft(t, e, "rate", "f"))
	}
	clk.advance(3 * time.Second)
	if f := incrF(window); f != 1 || ttlLeft(t, e, "rate", "f") != int64(7*time.Second) {
		t.Fatalf("second float: %v left %d, want 1 and 7s", f, ttlLeft(t, e, "rate", "f"))
	}
	clk.advance(7 * time.Second)
	if f := incrF(window); f != 0.5 || ttlLeft(t, e, "rate", "f") != window {
		t.Fatalf("float in a new window: %v left %d, want 0.5 and 10s", f, ttlLeft(t, e, "rate", "f"))
	}
}

// TestExpiry_WriteExpired_Events checks that a write finding an expired
// key first reports its expiry, with the old value, then the write.
func TestExpiry_WriteExpired_Events(t *testing.T) {
	e, clk := newTimedEngine(t)
	p := &published{}
	e.publish = p.publish
	newTestDict(t, e, "d")
	type want struct {
		typ      EventType
		key      string
		value    any
		old      any
		hasValue bool
	}
	tests := []struct {
		name  string
		old   any
		op    Op
		found bool
		evs   []want
	}{
		{"set", "old", Op{Code: OpDictSet, Key: "k", Value: enc(t, "new")}, false,
			[]want{{EventExpire, "k", nil, "old", false}, {EventSet, "k", "new", nil, true}}},
		{"delete", "old", Op{Code: OpDictDelete, Key: "k"}, false,
			[]want{{EventExpire, "k", nil, "old", false}}},
		{"incr of a string", "str", Op{Code: OpDictIncr, Key: "k", Delta: 4}, false,
			[]want{{EventExpire, "k", nil, "str", false}, {EventSet, "k", int64(4), nil, true}}},
		{"setnx", "old", Op{Code: OpDictSetNX, Key: "k", Value: enc(t, "new")}, true,
			[]want{{EventExpire, "k", nil, "old", false}, {EventSet, "k", "new", nil, true}}},
		{"update", "old", Op{Code: OpDictUpdate, Keys: []string{"k"}, Values: encs(t, "new")}, false,
			[]want{{EventExpire, "k", nil, "old", false}, {EventSet, "k", "new", nil, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setTTL(t, e, "d", "k", tt.old, time.Second)
			clk.advance(time.Second)
			p.take()
			tt.op.Table = "d"
			res := ok(t, e, tt.op)
			if res.Found != tt.found {
				t.Fatalf("found %v, want %v", res.Found, tt.found)
			}
			calls := p.take()
			if len(calls) != 1 || calls[0].table != "d" || len(calls[0].evs) != len(tt.evs) {
				t.Fatalf("published %+v, want one call of %d events", calls, len(tt.evs))
			}
			for i, w := range tt.evs {
				ev := calls[0].evs[i]
				if ev.Type != w.typ || ev.Key != w.key || ev.Table != "d" || (ev.Value != nil) != w.hasValue {
					t.Fatalf("event %d: %+v, want %+v", i, ev, w)
				}
				if w.hasValue && dec(t, ev.Value) != w.value {
					t.Fatalf("event %d value %v, want %v", i, dec(t, ev.Value), w.value)
				}
				if (ev.Old == nil) != (w.old == nil) || (w.old != nil && dec(t, ev.Old) != w.old) {
					t.Fatalf("event %d old %x, want %v", i, ev.Old, w.old)
				}
				if ev.Rev != calls[0].evs[0].Rev {
					t.Fatalf("events of one write with revisions %d and %d", ev.Rev, calls[0].evs[0].Rev)
				}
			}
			ok(t, e, Op{Code: OpDictDelete, Table: "d", Key: "k"})
		})
	}
}

// dueKeys returns "table/key" of each op, sorted, checking that each is an
// OpDictExpireKey carrying the version the key has now.
func dueKeys(t *testing.T, e *Engine, ops []Op) []string {
	t.Helper()
	var out []string
	for _, op := range ops {
		if op.Code != OpDictExpireKey {
			t.Fatalf("due op of code %d", op.Code)
		}
		en, stored := rawEntry(t, e, op.Table, op.Key)
		if !stored || en.Ver != op.Version {
			t.Fatalf("due op %s/%s has version %d; stored %v with version %d", op.Table, op.Key, op.Version, stored, en.Ver)
		}
		out = append(out, op.Table+"/"+op.Key)
	}
	slices.Sort(out)
	return out
}

func TestExpiry_DueExpiries(t *testing.T) {
	e, clk := newTimedEngine(t)
	j := &journal{}
	e.SetLog(j.log)
	p := &published{}
	e.publish = p.publish
	newTestDict(t, e, "d", "n", 0)
	newTestDict(t, e, "d2")
	newTestList(t, e, "l", 1)
	setTTL(t, e, "d", "a", "A", time.Second)
	setTTL(t, e, "d", "b", "B", 2*time.Second)
	setTTL(t, e, "d", "c", "C", 3*time.Second)
	setTTL(t, e, "d2", "x", "X", 1500*time.Millisecond)
	ops, next := e.DueExpiries(clk.now(), 10)
	if len(ops) != 0 || next != at(time.Second) {
		t.Fatalf("nothing due yet: %d ops, next %d, want 0 and %d", len(ops), next, at(time.Second))
	}
	clk.advance(2500 * time.Millisecond)
	ops, next = e.DueExpiries(clk.now(), 10)
	if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/a d/b d2/x]" || next != at(3*time.Second) {
		t.Fatalf("due %v next %d, want [d/a d/b d2/x] and %d", got, next, at(3*time.Second))
	}
	logged := j.len()
	p.take()
	olds := map[string]any{"a": "A", "b": "B", "x": "X"}
	for _, op := range ops {
		res := ok(t, e, op)
		if !res.Found || res.LSN == 0 {
			t.Fatalf("expiring %s/%s: %+v", op.Table, op.Key, res)
		}
		calls := p.take()
		if len(calls) != 1 || len(calls[0].evs) != 1 {
			t.Fatalf("expiring %s/%s published %+v", op.Table, op.Key, calls)
		}
		ev := calls[0].evs[0]
		if calls[0].table != op.Table || ev.Type != EventExpire || ev.Key != op.Key || ev.Table != op.Table ||
			dec(t, ev.Old) != olds[op.Key] || ev.Value != nil || ev.LSN != res.LSN {
			t.Fatalf("expiry event %+v (LSN of the write %d)", ev, res.LSN)
		}
		if _, stored := rawEntry(t, e, op.Table, op.Key); stored {
			t.Fatalf("%s/%s still stored", op.Table, op.Key)
		}
	}
	if j.len() != logged+3 {
		t.Fatalf("logged %d expiries, want 3", j.len()-logged)
	}
	for _, k := range []string{"c", "n"} {
		if _, stored := rawEntry(t, e, "d", k); !stored {
			t.Fatalf("key %q removed", k)
		}
	}
	if ops, next := e.DueExpiries(clk.now(), 10); len(ops) != 0 || next != at(3*time.Second) {
		t.Fatalf("second scan: %d ops next %d", len(ops), next)
	}
	// Applied again, the operations find nothing and log nothing.
	for _, op := range ops {
		if ok(t, e, op).Found {
			t.Fatalf("expiring %s/%s twice", op.Table, op.Key)
		}
	}
	if j.len() != logged+3 || len(p.take()) != 0 {
		t.Fatal("an expiry that found nothing was logged or published")
	}
}

func TestExpiry_DueExpiries_Limit(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	for i := range 5 {
		setTTL(t, e, "d", fmt.Sprintf("k%d", i), i, time.Duration(i+1)*time.Second)
	}
	clk.advance(10 * time.Second)
	ops, next := e.DueExpiries(clk.now(), 2)
	if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/k0 d/k1]" || next != at(3*time.Second) {
		t.Fatalf("limit 2: %v next %d, want [d/k0 d/k1] and %d", got, next, at(3*time.Second))
	}
	if next > clk.now().UnixNano() {
		t.Fatal("the next deadline of a scan cut by its limit is not due")
	}
	if again, _ := e.DueExpiries(clk.now(), 2); fmt.Sprint(dueKeys(t, e, again)) != "[d/k0 d/k1]" {
		t.Fatal("removals not yet applied are not handed out again")
	}
	for i := range ops {
		ok(t, e, ops[i])
	}
	if ops, next := e.DueExpiries(clk.now(), 0); len(ops) != 0 || next != at(3*time.Second) {
		t.Fatalf("limit 0: %d ops next %d", len(ops), next)
	}
	ops, next = e.DueExpiries(clk.now(), 10)
	if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/k2 d/k3 d/k4]" || next != 0 {
		t.Fatalf("rest: %v next %d, want [d/k2 d/k3 d/k4] and 0", got, next)
	}
	for i := range ops {
		ok(t, e, ops[i])
	}
	if ops, next := e.DueExpiries(clk.now(), 10); len(ops) != 0 || next != 0 {
		t.Fatalf("empty scan: %d ops next %d", len(ops), next)
	}
}

// TestExpiry_DueExpiries_Stale applies expiry operations after their keys
// changed: a rewritten key keeps its new value, whatever its deadline.
func TestExpiry_DueExpiries_Stale(t *testing.T) {
	e, clk := newTimedEngine(t)
	j := &journal{}
	e.SetLog(j.log)
	newTestDict(t, e, "d")
	for _, k := range []string{"a", "b", "c", "z"} {
		setTTL(t, e, "d", k, "old", time.Second)
	}
	clk.advance(2 * time.Second)
	ops, _ := e.DueExpiries(clk.now(), 10)
	if len(ops) != 4 {
		t.Fatalf("%d due ops, want 4", len(ops))
	}
	setTTL(t, e, "d", "a", "new", 0)                // no deadline
	setTTL(t, e, "d", "b", "new", time.Hour)        // a later one
	setTTL(t, e, "d", "c", "new", time.Millisecond) // one that passes too
	clk.advance(time.Second)
	logged := j.len()
	found := map[string]bool{}
	for _, op := range ops {
		found[op.Key] = ok(t, e, op).Found
	}
	if fmt.Sprint(found) != "map[a:false b:false c:false z:true]" {
		t.Fatalf("found %v, want only z", found)
	}
	if j.len() != logged+1 {
		t.Fatalf("logged %d records, want 1 (z)", j.len()-logged)
	}
	for _, k := range []string{"a", "b", "c"} {
		if en, stored := rawEntry(t, e, "d", k); !stored || dec(t, en.V) != "new" {
			t.Fatalf("stale expiry removed the rewritten %q", k)
		}
	}
	// c's new deadline has passed: a new scan removes it.
	ops, _ = e.DueExpiries(clk.now(), 10)
	if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/c]" {
		t.Fatalf("second scan %v, want [d/c]", got)
	}
}

// TestExpiry_DueExpiries_SameDeadlineTwice writes a key twice with the same
// deadline, as an Update with a repeated key does: each key must be due
// once, and Len must not count it twice.
func TestExpiry_DueExpiries_SameDeadlineTwice(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	ok(t, e, Op{Code: OpDictUpdate, Table: "d", Keys: []string{"a", "a"}, Values: encs(t, 1, 2), TTL: int64(time.Second)})
	setTTL(t, e, "d", "b", 1, time.Second)
	setTTL(t, e, "d", "b", 2, time.Second) // same instant, same deadline
	ok(t, e, Op{Code: OpDictExpire, Table: "d", Key: "b", TTL: int64(time.Second)})
	clk.advance(2 * time.Second)
	if n := dictLen(t, e, "d"); n != 0 {
		t.Errorf("len %d after both keys expired, want 0", n)
	}
	ops, _ := e.DueExpiries(clk.now(), 10)
	if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/a d/b]" {
		t.Errorf("due %v, want each key once: [d/a d/b]", got)
	}
}

func TestExpiry_ExpiryWake(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	drainWake(e)
	steps := []struct {
		key  string
		ttl  time.Duration
		wake bool
	}{
		{"a", 10 * time.Second, true},  // the first deadline known
		{"b", 20 * time.Second, false}, // later than a's
		{"plain", 0, false},            // no deadline
	}
	for _, s := range steps {
		setTTL(t, e, "d", s.key, 1, s.ttl)
		if got := drainWake(e); got != s.wake {
			t.Fatalf("set %q: wake %v, want %v", s.key, got, s.wake)
		}
	}
	if _, next := e.DueExpiries(clk.now(), 10); next != at(10*time.Second) {
		t.Fatalf("next %d, want a's deadline", next)
	}
	drainWake(e)
	for _, s := range []struct {
		key  string
		ttl  time.Duration
		wake bool
	}{
		{"c", 30 * time.Second, false},
		{"d", 5 * time.Second, true}, // earlier than a's
		{"e", 6 * time.Second, false},
	} {
		setTTL(t, e, "d", s.key, 1, s.ttl)
		if got := drainWake(e); got != s.wake {
			t.Fatalf("set %q after a scan: wake %v, want %v", s.key, got, s.wake)
		}
	}
	ok(t, e, Op{Code: OpDictExpire, Table: "d", Key: "plain", TTL: int64(time.Second)})
	if !drainWake(e) {
		t.Fatal("Expire with the earliest deadline did not wake the expirer")
	}
	e.Restore(e.Snapshot())
	if !drainWake(e) {
		t.Fatal("Restore did not wake the expirer")
	}
	if _, next := e.DueExpiries(clk.now(), 10); next != at(time.Second) {
		t.Fatalf("next after restore %d, want %d", next, at(time.Second))
	}
}

func TestExpiry_Restore_RebuildsDeadlines(t *testing.T) {
	src, _ := newTimedEngine(t)
	newTestDict(t, src, "d", "plain", 0)
	newTestDict(t, src, "d2")
	newTestList(t, src, "l", 1)
	setTTL(t, src, "d", "a", 1, time.Second)
	setTTL(t, src, "d2", "b", 2, 2*time.Second)
	snap := src.Snapshot()
	for _, owned := range []bool{false, true} {
		t.Run(fmt.Sprintf("owned=%v", owned), func(t *testing.T) {
			e, clk := newTimedEngine(t)
			if owned {
				e.RestoreOwned(cloneTables(snap))
			} else {
				e.Restore(snap)
			}
			if ops, next := e.DueExpiries(clk.now(), 10); len(ops) != 0 || next != at(time.Second) {
				t.Fatalf("after restore: %d ops next %d, want 0 and %d", len(ops), next, at(time.Second))
			}
			clk.advance(3 * time.Second)
			ops, next := e.DueExpiries(clk.now(), 10)
			if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/a d2/b]" || next != 0 {
				t.Fatalf("due %v next %d", got, next)
			}
			for _, op := range ops {
				if !ok(t, e, op).Found {
					t.Fatalf("restored %s/%s not expired", op.Table, op.Key)
				}
			}
			if n := dictLen(t, e, "d"); n != 1 {
				t.Fatalf("len %d, want 1", n)
			}
		})
	}
}

// TestExpiry_HugeTTL gives keys the longest TTL there is, which must not
// wrap around into a deadline in the past.
func TestExpiry_HugeTTL(t *testing.T) {
	e, _ := newTimedEngine(t)
	newTestDict(t, e, "d", "k", 1)
	setTTL(t, e, "d", "set", 1, math.MaxInt64)
	ok(t, e, Op{Code: OpDictExpire, Table: "d", Key: "k", TTL: math.MaxInt64})
	for _, k := range []string{"set", "k"} {
		if !getKey(t, e, "d", k).Found || ttlLeft(t, e, "d", k) <= 0 {
			t.Errorf("key %q with a huge TTL: found %v, left %d", k, getKey(t, e, "d", k).Found, ttlLeft(t, e, "d", k))
		}
	}
}
