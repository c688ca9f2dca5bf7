package engine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// txnOf returns an OpTxn of ops.
func txnOf(ops ...Op) Op { return Op{Code: OpTxn, Ops: ops} }

// newTxnEngine returns an engine with a fake clock, a journal and a
// publish recorder, holding the dicts "a" and "b" and the list "l".
func newTxnEngine(t *testing.T) (*Engine, *fakeClock, *journal, *published) {
	t.Helper()
	e, clk := newTimedEngine(t)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	newTestDict(t, e, "a", "x", 1, "s", "str", "n", 10)
	newTestDict(t, e, "b", "y", 2)
	newTestList(t, e, "l", "p", "q")
	setTTL(t, e, "a", "timed", "t", time.Hour)
	setTTL(t, e, "a", "lapsed", "old", time.Second)
	clk.advance(2 * time.Second) // "lapsed" has expired but is still stored
	p.take()
	return e, clk, j, p
}

func TestTxn_Commit(t *testing.T) {
	e, _, j, p := newTxnEngine(t)
	logged := j.len()
	op := txnOf(
		Op{Code: OpCheckEquals, Table: "a", Key: "x", Value: enc(t, 1)},
		Op{Code: OpDictSet, Table: "a", Key: "x", Value: enc(t, 100)},
		Op{Code: OpDictGet, Table: "a", Key: "x"},
		Op{Code: OpDictIncr, Table: "b", Key: "y", Delta: 5},
		Op{Code: OpListAppend, Table: "l", Value: enc(t, "r")},
		Op{Code: OpCheckAbsent, Table: "b", Key: "zz"},
		Op{Code: OpDictDelete, Table: "a", Key: "n"},
	)
	res := ok(t, e, op)
	if len(res.Results) != 7 {
		t.Fatalf("%d results, want 7", len(res.Results))
	}
	if got := res.Results[2]; !got.Found || dec(t, got.Value) != int64(100) {
		t.Fatalf("a Get inside the transaction does not see its Set: %+v", got)
	}
	if res.Results[3].Int != 7 || res.Results[4].Int != 3 || !res.Results[6].Found {
		t.Fatalf("results %+v", res.Results)
	}
	if j.len() != logged+1 {
		t.Fatalf("%d log records, want one", j.len()-logged)
	}
	rec := j.last(t)
	if rec.op.Code != OpTxn || len(rec.op.Ops) != 7 || rec.lsn != res.LSN {
		t.Fatalf("logged %+v at %d, result LSN %d", rec.op, rec.lsn, res.LSN)
	}
	rev := res.Results[1].Version
	if rev == 0 || res.Results[3].Version != rev || rec.op.Rev != rev {
		t.Fatalf("revisions: set %d incr %d txn %d, want one shared", rev, res.Results[3].Version, rec.op.Rev)
	}
	if getKey(t, e, "a", "x").Version != rev || getKey(t, e, "b", "y").Version != rev {
		t.Fatal("stored versions differ from the transaction's revision")
	}
	for _, td := range e.Snapshot() {
		if td.LSN != res.LSN || td.Rev != rev {
			t.Fatalf("table %q at LSN %d rev %d, want %d and %d", td.Name, td.LSN, td.Rev, res.LSN, rev)
		}
	}
	calls := p.take()
	perTable := map[string]int{}
	for _, c := range calls {
		perTable[c.table]++
		for _, ev := range c.evs {
			if ev.Rev != rev || ev.LSN != res.LSN || ev.Table != c.table {
				t.Fatalf("event %+v of %q, want revision %d LSN %d", ev, c.table, rev, res.LSN)
			}
		}
	}
	if fmt.Sprint(perTable) != "map[a:1 b:1 l:1]" {
		t.Fatalf("publish calls per table %v, want one each", perTable)
	}
	if fmt.Sprint(listState(t, e, "l")) != "[p q r]" {
		t.Fatalf("list %v", listState(t, e, "l"))
	}
}

// TestTxn_Abort checks that a transaction whose check or operation fails
// changes nothing at all: no key, deadline, version, list, default TTL,
// revision, LSN, log record or event.
func TestTxn_Abort(t *testing.T) {
	v := func(x any) cbor.RawMessage { return enc(t, x) }
	// writes change every kind of state before the failing op.
	writes := []Op{
		{Code: OpDictSet, Table: "a", Key: "x", Value: v(99)},
		{Code: OpDictSet, Table: "a", Key: "new", Value: v("n"), TTL: int64(time.Minute)},
		{Code: OpDictSet, Table: "a", Key: "lapsed", Value: v("revived")},
		{Code: OpDictDelete, Table: "a", Key: "n"},
		{Code: OpDictPersist, Table: "a", Key: "timed"},
		{Code: OpDictUpdate, Table: "b", Keys: []string{"y", "u"}, Values: []cbor.RawMessage{v(3), v(4)}},
		{Code: OpDictIncr, Table: "b", Key: "y", Delta: 1},
		{Code: OpDictExpire, Table: "b", Key: "y", TTL: int64(time.Second)},
		{Code: OpDictPopItem, Table: "b"},
		{Code: OpListAppend, Table: "l", Value: v("r")},
		{Code: OpListSet, Table: "l", Index: 0, Value: v("P")},
		{Code: OpListPop, Table: "l", Index: 1},
		{Code: OpListSort, Table: "l", Reverse: true},
	}
	clearThenWrite := []Op{
		{Code: OpDictSet, Table: "a", Key: "x", Value: v(7)},
		{Code: OpDictClear, Table: "a"},
		{Code: OpDictSet, Table: "a", Key: "after", Value: v(1), TTL: int64(time.Second)},
		{Code: OpDictSet, Table: "a", Key: "x", Value: v(8)},
		{Code: OpListClear, Table: "l"},
	}
	tests := []struct {
		name   string
		before []Op
		fail   Op
		code   ErrCode
	}{
		{"check equals other value", writes, Op{Code: OpCheckEquals, Table: "a", Key: "s", Value: v("other")}, ErrConflict},
		{"check equals absent", writes, Op{Code: OpCheckEquals, Table: "a", Key: "zz", Value: v(1)}, ErrConflict},
		{"check absent", writes, Op{Code: OpCheckAbsent, Table: "a", Key: "s"}, ErrConflict},
		{"check version", writes, Op{Code: OpCheckVersion, Table: "a", Key: "s", Version: 1 << 40}, ErrConflict},
		{"check version 0 of a key", writes, Op{Code: OpCheckVersion, Table: "a", Key: "s"}, ErrConflict},
		{"check of a key written", writes, Op{Code: OpCheckEquals, Table: "a", Key: "x", Value: v(1)}, ErrConflict},
		{"incr of a string", writes, Op{Code: OpDictIncr, Table: "a", Key: "s", Delta: 1}, ErrWrongType},
		{"list index", writes, Op{Code: OpListGet, Table: "l", Index: 50}, ErrIndex},
		{"missing table", writes, Op{Code: OpDictGet, Table: "nope", Key: "k"}, ErrNoTable},
		{"invalid value", writes, Op{Code: OpDictSet, Table: "a", Key: "k"}, ErrInvalid},
		{"after clear", clearThenWrite, Op{Code: OpCheckAbsent, Table: "b", Key: "y"}, ErrConflict},
		{"check after clear", clearThenWrite, Op{Code: OpCheckEquals, Table: "a", Key: "x", Value: v(1)}, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, j, p := newTxnEngine(t)
			before, logged := e.Snapshot(), j.len()
			wake := e.Changes("a")
			ops := append(append([]Op{}, tt.before...), tt.fail, Op{Code: OpDictSet, Table: "b", Key: "late", Value: v(1)})
			res := do(e, txnOf(ops...))
			if res.Err != ErrAborted || res.Int != int64(len(tt.before)) || res.Msg == "" {
				t.Fatalf("got err %d %q index %d, want ErrAborted at %d", res.Err, res.Msg, res.Int, len(tt.before))
			}
			if len(res.Results) != 1 || res.Results[0].Err != tt.code || res.Results[0].Msg != res.Msg {
				t.Fatalf("results %+v, want one with err %d", res.Results, tt.code)
			}
			if d := diffSnapshots(e.Snapshot(), before); d != "" {
				t.Fatalf("aborted transaction changed the store: %s", d)
			}
			if j.len() != logged || len(p.take()) != 0 || closed(wake) {
				t.Fatal("aborted transaction logged, published or woke waiters")
			}
			// The store still works, and the tables keep their events.
			ok(t, e, Op{Code: OpDictSet, Table: "a", Key: "x", Value: v(5)})
			if calls := p.take(); len(calls) != 1 || len(calls[0].evs) != 1 {
				t.Fatalf("events after an abort: %+v", calls)
			}
		})
	}
}

// TestTxn_Abort_TableTTL aborts a transaction that set the default TTL of
// a dict before writing to it.
func TestTxn_Abort_TableTTL(t *testing.T) {
	e, _, _, _ := newTxnEngine(t)
	before := e.Snapshot()
	res := do(e, txnOf(
		Op{Code: OpTableTTL, Table: "a", TTL: int64(time.Minute)},
		Op{Code: OpDictSet, Table: "a", Key: "x", Value: enc(t, 2)},
		Op{Code: OpDictSet, Table: "a", Key: "added", Value: enc(t, 3)},
		Op{Code: OpCheckAbsent, Table: "b", Key: "y"},
	))
	if res.Err != ErrAborted || res.Int != 3 {
		t.Fatalf("got %d %q at %d, want ErrAborted at 3", res.Err, res.Msg, res.Int)
	}
	if d := diffSnapshots(e.Snapshot(), before); d != "" {
		t.Fatalf("aborted transaction changed the store: %s", d)
	}
}

func TestTxn_Invalid(t *testing.T) {
	e, _, j, _ := newTxnEngine(t)
	before, logged := e.Snapshot(), j.len()
	set := Op{Code: OpDictSet, Table: "a", Key: "x", Value: enc(t, 5)}
	for _, code := range []Code{
		0, OpCreateTable, OpOpenTable, OpTables, OpDropTable, OpDictScan, OpCloseCursor,
		OpSave, OpLoad, OpBatch, OpDictExpireKey, OpTxn, OpListBPop, OpCancel, OpWatch,
		OpLock, OpUnlock, OpLockRefresh, 200,
	} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			bad := Op{Code: code, Table: "a", Key: "k", Kind: KindDict, TTL: 1, Ops: []Op{set}}
			wantErr(t, do(e, txnOf(set, bad)), ErrInvalid, fmt.Sprintf("operation 1: code %d may not be part of a transaction", code))
		})
	}
	wantErr(t, do(e, Op{Code: OpTxn}), ErrInvalid, "empty transaction")
	if d := diffSnapshots(e.Snapshot(), before); d != "" || j.len() != logged {
		t.Fatalf("an invalid transaction changed the store: %s", d)
	}
	// Reads, deadlines and checks are fine.
	ok(t, e, txnOf(
		Op{Code: OpDictLen, Table: "a"},
		Op{Code: OpDictTTL, Table: "a", Key: "timed"},
		Op{Code: OpListLen, Table: "l"},
		Op{Code: OpCheckVersion, Table: "a", Key: "zz"},
	))
}

// TestTxn_ReadOnly runs a transaction of reads: it logs and publishes
// nothing.
func TestTxn_ReadOnly(t *testing.T) {
	e, _, j, p := newTxnEngine(t)
	logged := j.len()
	res := ok(t, e, txnOf(Op{Code: OpDictGet, Table: "a", Key: "x"}, Op{Code: OpDictGet, Table: "b", Key: "y"}))
	if dec(t, res.Results[0].Value) != int64(1) || dec(t, res.Results[1].Value) != int64(2) || res.LSN != 0 {
		t.Fatalf("results %+v", res)
	}
	if j.len() != logged || len(p.take()) != 0 {
		t.Fatal("a read-only transaction logged or published")
	}
}

func TestTxn_CheckVersion(t *testing.T) {
	e, _, _, _ := newTxnEngine(t)
	ver := getKey(t, e, "a", "x").Version
	tests := []struct {
		name string
		op   Op
		pass bool
	}{
		{"current", Op{Code: OpCheckVersion, Table: "a", Key: "x", Version: ver}, true},
		{"older", Op{Code: OpCheckVersion, Table: "a", Key: "x", Version: ver - 1}, false},
		{"0 of an absent key", Op{Code: OpCheckVersion, Table: "a", Key: "zz"}, true},
		{"0 of an expired key", Op{Code: OpCheckVersion, Table: "a", Key: "lapsed"}, true},
		{"absent of an expired key", Op{Code: OpCheckAbsent, Table: "a", Key: "lapsed"}, true},
		{"equals of an expired key", Op{Code: OpCheckEquals, Table: "a", Key: "lapsed", Value: enc(t, "old")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(e, txnOf(tt.op, Op{Code: OpDictIncr, Table: "b", Key: "c", Delta: 1}))
			if (res.Err == OK) != tt.pass {
				t.Fatalf("got %d %q, want pass %v", res.Err, res.Msg, tt.pass)
			}
		})
	}
}

// TestTxn_Concurrent_Invariant moves amounts between two keys of two
// dicts in transactions, some of which abort after writing a bogus value,
// while readers check, with transactions of reads, Items and snapshots,
// that the sum never changes and the bogus value never shows.
func TestTxn_Concurrent_Invariant(t *testing.T) {
	e := New(nil)
	j := &journal{}
	e.SetLog(j.log)
	const total = 1000
	newTestDict(t, e, "acct", "x", total/2)
	newTestDict(t, e, "acct2", "y", total/2)
	newTestDict(t, e, "both", "x", total/2, "y", total/2)
	bogus := enc(t, -1_000_000)
	n := 400
	if testing.Short() {
		n = 100
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	var reads atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range n {
				d := int64(rng.IntN(21) - 10)
				if i%5 == 0 {
					res := do(e, txnOf(
						Op{Code: OpDictSet, Table: "acct", Key: "x", Value: bogus},
						Op{Code: OpDictSet, Table: "both", Key: "y", Value: bogus},
						Op{Code: OpCheckAbsent, Table: "acct2", Key: "y"},
					))
					if res.Err != ErrAborted {
						t.Errorf("txn meant to abort: %d %q", res.Err, res.Msg)
					}
					continue
				}
				noErr(t, do(e, txnOf(
					Op{Code: OpDictIncr, Table: "acct", Key: "x", Delta: -d},
					Op{Code: OpDictIncr, Table: "acct2", Key: "y", Delta: d},
					Op{Code: OpDictIncr, Table: "both", Key: "x", Delta: -d},
					Op{Code: OpDictIncr, Table: "both", Key: "y", Delta: d},
				)))
			}
		})
	}
	check := func(what string, x, y any) {
		xi, xok := x.(int64)
		yi, yok := y.(int64)
		if !xok || !yok || xi+yi != total {
			t.Errorf("%s: x=%v y=%v, sum not %d", what, x, y, total)
			stop.Store(true)
		}
	}
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			for !stop.Load() {
				switch r {
				case 0, 1:
					res := do(e, txnOf(Op{Code: OpDictGet, Table: "acct", Key: "x"}, Op{Code: OpDictGet, Table: "acct2", Key: "y"}))
					if res.Err != OK {
						t.Errorf("read txn: %d %q", res.Err, res.Msg)
						return
					}
					check("txn of gets", dec(t, res.Results[0].Value), dec(t, res.Results[1].Value))
				case 2:
					res := do(e, Op{Code: OpDictItems, Table: "both"})
					check("items", dec(t, res.Values[0]), dec(t, res.Values[1]))
				case 3:
					// Different dicts are copied at different moments:
					// only the one holding both keys is checked.
					td := tableOf(t, e.Snapshot(), "both")
					check("snapshot", dec(t, td.Dict["x"].V), dec(t, td.Dict["y"].V))
				}
				reads.Add(1)
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	if reads.Load() == 0 {
		t.Fatal("no reads")
	}
	check("final", dec(t, getKey(t, e, "acct", "x").Value), dec(t, getKey(t, e, "acct2", "y").Value))
	// Every committed transaction is one record.
	if want := 3 + 4*(n-n/5); j.len() != want {
		t.Fatalf("%d records, want %d", j.len(), want)
	}
}

// TestTxn_Replay replays a transaction record into an engine restored
// from copies in which one table already holds the transaction and the
// other does not: only the missing part is applied.
func TestTxn_Replay(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
	}{
		{"dicts", []Op{
			{Code: OpDictIncr, Table: "a", Key: "n", Delta: 5},
			{Code: OpCheckEquals, Table: "b", Key: "y", Value: cbor.RawMessage{0x02}},
			{Code: OpDictIncr, Table: "b", Key: "y", Delta: 5},
		}},
		{"lists", []Op{
			{Code: OpListAppend, Table: "l", Value: cbor.RawMessage{0x07}},
			{Code: OpDictIncr, Table: "b", Key: "y", Delta: 5},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, j, _ := newTxnEngine(t)
			pre := e.Snapshot()
			res := ok(t, e, txnOf(tt.ops...))
			post := e.Snapshot()
			rec := j.last(t)
			for _, held := range []string{tt.ops[0].Table, "b"} {
				t.Run("held by "+held, func(t *testing.T) {
					var mixed []TableData
					for i := range post {
						if post[i].Name == held {
							mixed = append(mixed, post[i])
						} else {
							mixed = append(mixed, pre[i])
						}
					}
					r, _ := newTimedEngine(t)
					r.Restore(mixed)
					mustReplay(t, r, deepOp(&rec.op), rec.lsn)
					if d := diffSnapshots(r.Snapshot(), post); d != "" {
						t.Fatalf("after replaying the transaction (LSN %d): %s", res.LSN, d)
					}
					// Replaying it again changes nothing.
					mustReplay(t, r, deepOp(&rec.op), rec.lsn)
					if d := diffSnapshots(r.Snapshot(), post); d != "" {
						t.Fatalf("after replaying it twice: %s", d)
					}
				})
			}
		})
	}
}

// TestTxn_Abort_DueExpiriesMeanwhile runs DueExpiries while a
// transaction that will abort has removed a deadline: the expirer must
// not act on the transaction's partial state.
func TestTxn_Abort_DueExpiriesMeanwhile(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "d")
	newTestDict(t, e, "probe")
	setTTL(t, e, "d", "k", 1, time.Second) // the earliest deadline of d
	setTTL(t, e, "d", "x", 2, time.Hour)
	setTTL(t, e, "probe", "p", 3, time.Hour)
	probe := tableNamed(t, e, "probe")
	var fired bool
	scanned := make(chan struct{})
	e.now = func() time.Time {
		// OpDictTTL asks the time again once it has unlocked probe: start
		// the expirer there, as a concurrent one could run, and give it a
		// moment (it may rightly wait for the transaction to end).
		if e.tx != nil && !fired && probe.mu.TryLock() {
			probe.mu.Unlock()
			fired = true
			go func() {
				e.DueExpiries(clk.now(), 10)
				close(scanned)
			}()
			select {
			case <-scanned:
			case <-time.After(100 * time.Millisecond):
			}
		}
		return clk.now()
	}
	res := do(e, txnOf(
		Op{Code: OpDictPersist, Table: "d", Key: "k"},
		Op{Code: OpDictTTL, Table: "probe", Key: "p"},
		Op{Code: OpCheckAbsent, Table: "d", Key: "x"},
	))
	if !fired || res.Err != ErrAborted {
		t.Fatalf("fired %v, result %d %q", fired, res.Err, res.Msg)
	}
	<-scanned
	e.now = clk.now
	if left := ttlLeft(t, e, "d", "k"); left != int64(time.Second) {
		t.Fatalf("k has %d left after the rollback, want 1s", left)
	}
	clk.advance(2 * time.Second)
	if n := dictLen(t, e, "d"); n != 1 {
		t.Errorf("len %d, want 1 (k has expired)", n)
	}
	ops, _ := e.DueExpiries(clk.now(), 10)
	if got := dueKeys(t, e, ops); fmt.Sprint(got) != "[d/k]" {
		t.Errorf("due %v, want [d/k]", got)
	}
}

// TestTxn_Abort_ClearDuringSnapshot aborts a transaction that cleared a
// dict while a snapshot copied it, and whose snapshot finished meanwhile:
// the changes the snapshot's overlay held must survive.
func TestTxn_Abort_ClearDuringSnapshot(t *testing.T) {
	e, clk := newTimedEngine(t)
	newTestDict(t, e, "a", "probe", 0)
	setTTL(t, e, "a", "probe", 0, time.Hour)
	newTestDict(t, e, "z", "k1", 1, "k2", 2, "k3", 3, "k4", 4)
	e.snapChunk = 2
	z := tableNamed(t, e, "z")
	steps := make(chan struct{})
	release := make(chan struct{})
	e.snapStep = func() {
		steps <- struct{}{}
		<-release
	}
	snapDone := make(chan []TableData)
	go func() { snapDone <- e.Snapshot() }()
	<-steps // z is frozen, about to be cloned
	release <- struct{}{}
	<-steps // cloned, about to thaw
	// A write meanwhile goes into the overlay.
	ok(t, e, Op{Code: OpDictSet, Table: "z", Key: "k1", Value: enc(t, "new")})
	var fired, done bool
	e.now = func() time.Time {
		if e.tx != nil && !fired {
			// Let the snapshot thaw z and end, giving it a moment (it
			// may rightly wait for the transaction to end).
			fired = true
			release <- struct{}{}
			select {
			case <-snapDone:
				done = true
			case <-time.After(100 * time.Millisecond):
			}
		}
		return clk.now()
	}
	res := do(e, txnOf(
		Op{Code: OpDictClear, Table: "z"},
		Op{Code: OpDictTTL, Table: "a", Key: "probe"},
		Op{Code: OpCheckAbsent, Table: "a", Key: "probe"},
	))
	e.now = clk.now
	if !fired {
		release <- struct{}{}
	}
	if !done {
		<-snapDone
	}
	e.snapStep = nil
	if !fired {
		t.Fatal("the transaction never asked the time")
	}
	if res.Err != ErrAborted {
		t.Fatalf("result %d %q, want ErrAborted", res.Err, res.Msg)
	}
	if v := dec(t, getKey(t, e, "z", "k1").Value); v != "new" {
		t.Fatalf("after the rollback k1 = %v, want new", v)
	}
	td := tableOf(t, e.Snapshot(), "z")
	if v := dec(t, td.Dict["k1"].V); v != "new" {
		t.Errorf("next snapshot has k1 = %v, want new", v)
	}
	if v := dec(t, getKey(t, e, "z", "k1").Value); v != "new" {
		t.Errorf("after the next snapshot k1 = %v, want new", v)
	}
	z.mu.RLock()
	defer z.mu.RUnlock()
	if z.snap != nil {
		t.Errorf("overlay left behind with %d pending changes", len(z.snap.newer))
	}
}
