package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// lockOp returns an OpLock of name for client with the lease d.
func lockOp(name string, client uint64, d time.Duration) Op {
	return Op{Code: OpLock, Key: name, TTL: int64(d), Client: client, PID: int64(1000 + client)}
}

// locksHeld returns "name:token:client:pid" of every lock held, sorted.
func locksHeld(e *Engine) []string {
	var out []string
	for _, l := range e.Locks() {
		out = append(out, fmt.Sprintf("%s:%d:%d:%d", l.Name, l.Token, l.Holder.Client, l.Holder.PID))
	}
	slices.Sort(out)
	return out
}

func TestLock_AcquireExpireTakeover(t *testing.T) {
	e, clk := newTimedEngine(t)
	if e.Locks() != nil {
		t.Fatal("locks before any lock operation")
	}
	first := ok(t, e, lockOp("job", 1, 10*time.Second))
	if !first.Found || first.Version == 0 {
		t.Fatalf("first lock: %+v", first)
	}
	if got := locksHeld(e); fmt.Sprint(got) != fmt.Sprintf("[job:%d:1:1001]", first.Version) {
		t.Fatalf("locks %v", got)
	}
	for _, client := range []uint64{1, 2} {
		if res := ok(t, e, lockOp("job", client, time.Second)); res.Found {
			t.Fatalf("client %d took a held lock: %+v", client, res)
		}
	}
	// Other names are independent.
	other := ok(t, e, lockOp("other", 2, time.Minute))
	if !other.Found || other.Version <= first.Version {
		t.Fatalf("other lock: %+v", other)
	}
	clk.advance(10*time.Second - 1)
	if ok(t, e, lockOp("job", 2, time.Second)).Found {
		t.Fatal("lock taken 1ns before its lease ends")
	}
	clk.advance(1)
	if got := locksHeld(e); fmt.Sprint(got) != fmt.Sprintf("[other:%d:2:1002]", other.Version) {
		t.Fatalf("locks after the lease: %v", got)
	}
	second := ok(t, e, lockOp("job", 2, 10*time.Second))
	if !second.Found || second.Version <= other.Version {
		t.Fatalf("takeover: %+v, want a token above %d", second, other.Version)
	}
	// The first holder's token no longer works.
	if ok(t, e, Op{Code: OpUnlock, Key: "job", Version: first.Version}).Found ||
		ok(t, e, Op{Code: OpLockRefresh, Key: "job", Version: first.Version, TTL: int64(time.Hour)}).Found {
		t.Fatal("the expired holder's token released or refreshed the new holder's lock")
	}
	if got := locksHeld(e); len(got) != 2 || !strings.HasPrefix(got[0], fmt.Sprintf("job:%d:2:", second.Version)) {
		t.Fatalf("locks %v", got)
	}
}

func TestLock_UnlockRefresh(t *testing.T) {
	e, clk := newTimedEngine(t)
	tok := ok(t, e, lockOp("L", 1, 10*time.Second)).Version
	if res := ok(t, e, Op{Code: OpUnlock, Key: "L", Version: tok + 1}); res.Found {
		t.Fatalf("unlock with a wrong token: %+v", res)
	}
	if res := ok(t, e, Op{Code: OpUnlock, Key: "nope", Version: tok}); res.Found {
		t.Fatalf("unlock of a free lock: %+v", res)
	}
	clk.advance(5 * time.Second)
	if res := ok(t, e, Op{Code: OpLockRefresh, Key: "L", Version: tok + 1, TTL: int64(time.Hour)}); res.Found {
		t.Fatalf("refresh with a wrong token: %+v", res)
	}
	res := ok(t, e, Op{Code: OpLockRefresh, Key: "L", Version: tok, TTL: int64(10 * time.Second)})
	if !res.Found || res.Version != tok {
		t.Fatalf("refresh: %+v", res)
	}
	clk.advance(7 * time.Second) // past the first lease, within the renewed one
	if ok(t, e, lockOp("L", 2, time.Second)).Found {
		t.Fatal("lock taken within its renewed lease")
	}
	if got := locksHeld(e); fmt.Sprint(got) != fmt.Sprintf("[L:%d:1:1001]", tok) {
		t.Fatalf("locks %v", got)
	}
	if res := ok(t, e, Op{Code: OpUnlock, Key: "L", Version: tok}); !res.Found {
		t.Fatalf("unlock: %+v", res)
	}
	if len(e.Locks()) != 0 {
		t.Fatalf("locks after unlock: %v", locksHeld(e))
	}
	if !ok(t, e, lockOp("L", 2, time.Second)).Found {
		t.Fatal("lock not free after unlock")
	}
	// A lease that has passed cannot be refreshed.
	tok2 := ok(t, e, lockOp("M", 3, time.Second)).Version
	clk.advance(time.Second)
	if ok(t, e, Op{Code: OpLockRefresh, Key: "M", Version: tok2, TTL: int64(time.Hour)}).Found {
		t.Fatal("refreshed an expired lock")
	}
}

func TestLock_UnlockClient(t *testing.T) {
	e, _ := newTimedEngine(t)
	for _, l := range []struct {
		name   string
		client uint64
	}{{"a", 1}, {"b", 2}, {"c", 1}, {"d", 3}} {
		ok(t, e, lockOp(l.name, l.client, time.Minute))
	}
	if res := ok(t, e, Op{Code: OpUnlock, Client: 1}); !res.Found {
		t.Fatalf("unlock of client 1: %+v", res)
	}
	var names []string
	for _, l := range e.Locks() {
		names = append(names, l.Name)
	}
	slices.Sort(names)
	if fmt.Sprint(names) != "[b d]" {
		t.Fatalf("locks left %v, want [b d]", names)
	}
	ok(t, e, Op{Code: OpUnlock, Client: 9}) // holds nothing
	if len(e.Locks()) != 2 {
		t.Fatal("unlock of a client holding nothing released locks")
	}
}

func TestLock_Invalid(t *testing.T) {
	e, _ := newTimedEngine(t)
	for _, tt := range []struct {
		name string
		op   Op
		msg  string
	}{
		{"lock without lease", Op{Code: OpLock, Key: "L"}, "lease"},
		{"lock negative lease", Op{Code: OpLock, Key: "L", TTL: -1}, "lease"},
		{"refresh without lease", Op{Code: OpLockRefresh, Key: "L", Version: 1}, "lease"},
		{"lock without name", Op{Code: OpLock, TTL: 1, Client: 1}, "empty lock name"},
		{"refresh without name", Op{Code: OpLockRefresh, TTL: 1, Client: 1}, "empty lock name"},
		{"unlock without name or client", Op{Code: OpUnlock, Version: 1}, "empty lock name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, do(e, tt.op), ErrInvalid, tt.msg)
		})
	}
}

// TestLock_Hidden checks that the table of the locks is invisible to the
// users' operations.
func TestLock_Hidden(t *testing.T) {
	e, _ := newTimedEngine(t)
	newTestDict(t, e, "d")
	ok(t, e, lockOp("L", 1, time.Minute))
	if got := ok(t, e, Op{Code: OpTables}).Tables; len(got) != 1 || got[0].Name != "d" {
		t.Fatalf("tables %v, want only d", got)
	}
	for i, op := range []Op{
		{Code: OpDictGet, Table: LockTable, Key: "L"},
		{Code: OpDictSet, Table: LockTable, Key: "L", Value: enc(t, 1)},
		{Code: OpDictDelete, Table: LockTable, Key: "L"},
		{Code: OpDictClear, Table: LockTable},
		{Code: OpDictItems, Table: LockTable},
		{Code: OpDictScan, Table: LockTable},
		{Code: OpDictTTL, Table: LockTable, Key: "L"},
		{Code: OpDictExpire, Table: LockTable, Key: "L", TTL: 1},
		{Code: OpTableTTL, Table: LockTable, TTL: 1},
		{Code: OpOpenTable, Table: LockTable, Kind: KindDict},
		{Code: OpDropTable, Table: LockTable},
		{Code: OpCreateTable, Table: LockTable, Kind: KindDict},
		{Code: OpCreateTable, Table: "\x00mine", Kind: KindList},
		{Code: OpDropTable, Table: "\x00mine"},
		txnOf(Op{Code: OpDictGet, Table: LockTable, Key: "L"}),
	} {
		t.Run(fmt.Sprintf("%d/code%d", i, op.Code), func(t *testing.T) {
			res := do(e, op)
			if op.Code == OpTxn {
				if res.Err != ErrAborted || len(res.Results) != 1 || res.Results[0].Err != ErrInvalid {
					t.Fatalf("txn on the lock table: %+v", res)
				}
				return
			}
			wantErr(t, res, ErrInvalid, "reserved")
		})
	}
	if len(e.Locks()) != 1 {
		t.Fatal("the lock table changed")
	}
}

// TestLock_Events checks the changes a lock publishes, and that a lock
// operation that does nothing logs nothing.
func TestLock_Events(t *testing.T) {
	e, clk := newTimedEngine(t)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	tok := ok(t, e, lockOp("L", 1, time.Second)).Version
	calls := p.take()
	if len(calls) != 1 || calls[0].table != LockTable || len(calls[0].evs) != 1 || calls[0].evs[0].Type != EventSet || calls[0].evs[0].Key != "L" {
		t.Fatalf("lock published %+v", calls)
	}
	logged := j.len()
	ok(t, e, lockOp("L", 2, time.Second))
	ok(t, e, Op{Code: OpUnlock, Key: "L", Version: tok + 1})
	ok(t, e, Op{Code: OpLockRefresh, Key: "L", Version: tok + 1, TTL: 1})
	if j.len() != logged || len(p.take()) != 0 {
		t.Fatal("lock operations that did nothing were logged or published")
	}
	// Taking an expired lock reports its expiry, then the new holder.
	clk.advance(time.Second)
	ok(t, e, lockOp("L", 2, time.Second))
	calls = p.take()
	if len(calls) != 1 || len(calls[0].evs) != 2 || calls[0].evs[0].Type != EventExpire || calls[0].evs[1].Type != EventSet {
		t.Fatalf("takeover published %+v", calls)
	}
}

// TestLock_ExpiredLeaseRemoved lets DueExpiries remove a lock whose lease
// has passed, as the leader's expirer does: with an unlock of its token,
// whose lapse of the lease removes it, logged, with an expiry event.
func TestLock_ExpiredLeaseRemoved(t *testing.T) {
	e, clk := newTimedEngine(t)
	j := &journal{}
	e.SetLog(j.log)
	p := &published{}
	e.publish = p.publish
	tok := ok(t, e, lockOp("L", 1, time.Second)).Version
	clk.advance(2 * time.Second)
	ops, _ := e.DueExpiries(clk.now(), 10)
	if len(ops) != 1 || ops[0].Code != OpUnlock || ops[0].Key != "L" || ops[0].Version != tok {
		t.Fatalf("due %+v, want the unlock of L with token %d", ops, tok)
	}
	p.take()
	logged := j.len()
	if res := do(e, ops[0]); res.Err != OK {
		t.Fatalf("expiring the lock: err %d %q", res.Err, res.Msg)
	}
	if _, stored := rawEntry(t, e, LockTable, "L"); stored {
		t.Fatal("expired lock still stored")
	}
	calls := p.take()
	if j.len() != logged+1 || len(calls) != 1 || calls[0].evs[0].Type != EventExpire {
		t.Fatalf("the removal was logged %d times and published %+v, want once, as an expiry", j.len()-logged, calls)
	}
}

// TestLock_ExpiryAfterRefresh applies the expirer's unlock after a refresh
// that came once the expirer had seen the lease end, as when the clock
// steps back in between: the refreshed lock stays held.
func TestLock_ExpiryAfterRefresh(t *testing.T) {
	e, clk := newTimedEngine(t)
	tok := ok(t, e, lockOp("L", 1, time.Second)).Version
	ops, _ := e.DueExpiries(clk.now().Add(2*time.Second), 10)
	if len(ops) != 1 {
		t.Fatalf("due %+v, want the lock's expiry", ops)
	}
	if !ok(t, e, Op{Code: OpLockRefresh, Key: "L", Version: tok, TTL: int64(time.Minute)}).Found {
		t.Fatal("refresh within the lease failed")
	}
	if res := do(e, ops[0]); res.Err != OK || res.Found {
		t.Fatalf("the expiry of a refreshed lock: %+v, want nothing done", res)
	}
	if got := locksHeld(e); fmt.Sprint(got) != fmt.Sprintf("[L:%d:1:1001]", tok) {
		t.Fatalf("locks after the late expiry: %v, want L still held", got)
	}
}

// TestLock_Replay logs lock operations and replays them into an engine
// whose clock is far ahead: it must end with the same lock table.
func TestLock_Replay(t *testing.T) {
	e, clk := newTimedEngine(t)
	j := &journal{}
	e.SetLog(j.log)
	ok(t, e, lockOp("a", 1, time.Minute))
	ok(t, e, lockOp("b", 1, time.Minute))
	tok := ok(t, e, lockOp("c", 2, time.Second)).Version
	clk.advance(2 * time.Second)
	ok(t, e, lockOp("c", 3, time.Minute)) // takes over the expired lock
	ok(t, e, Op{Code: OpLockRefresh, Key: "a", Version: 0, TTL: int64(time.Hour)})
	ok(t, e, Op{Code: OpUnlock, Key: "c", Version: tok})
	ok(t, e, Op{Code: OpUnlock, Client: 1})
	want := e.Snapshot()
	t.Run("fresh", func(t *testing.T) {
		r, rclk := newTimedEngine(t)
		rclk.advance(1000 * time.Hour)
		replayAll(t, r, j.records())
		if d := diffSnapshots(r.Snapshot(), want); d != "" {
			t.Fatal(d)
		}
	})
	t.Run("already held", func(t *testing.T) {
		r, _ := newTimedEngine(t)
		r.Restore(want)
		p := &published{}
		r.publish = p.publish
		replayAll(t, r, j.records())
		if d := diffSnapshots(r.Snapshot(), want); d != "" {
			t.Fatal(d)
		}
		if calls := p.take(); len(calls) != 0 {
			t.Fatalf("replay of records already held published %+v", calls)
		}
	})
}

// TestLock_ExpiredLockRemovalLogged unlocks, with a wrong token, a lock
// whose lease has passed: the write removes it, and must log that so
// that a replay removes it too, whether events are published or not.
func TestLock_ExpiredLockRemovalLogged(t *testing.T) {
	e, clk := newTimedEngine(t)
	j := &journal{}
	e.SetLog(j.log)
	tok := ok(t, e, lockOp("L", 1, time.Second)).Version
	clk.advance(2 * time.Second)
	ok(t, e, Op{Code: OpUnlock, Key: "L", Version: tok + 1})
	r, rclk := newTimedEngine(t)
	rclk.advance(2 * time.Second)
	replayAll(t, r, j.records())
	if d := diffSnapshots(r.Snapshot(), e.Snapshot()); d != "" {
		t.Fatal(d)
	}
}
