package engine

import (
	"fmt"
	"testing"
)

func TestList_BPop(t *testing.T) {
	e := New(nil)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	newTestList(t, e, "l", 1, 2, 3, 4)
	p.take()
	for _, tt := range []struct {
		index int64
		want  int64
		rest  string
	}{
		{0, 1, "[2 3 4]"},
		{-1, 4, "[2 3]"},
		{1, 3, "[2]"}, // any end but 0 is the back
	} {
		logged := j.len()
		res := ok(t, e, Op{Code: OpListBPop, Table: "l", Index: tt.index})
		if !res.Found || dec(t, res.Value) != tt.want {
			t.Fatalf("bpop %d: %+v, want %d", tt.index, res, tt.want)
		}
		if got := fmt.Sprint(listState(t, e, "l")); got != tt.rest {
			t.Fatalf("bpop %d left %s, want %s", tt.index, got, tt.rest)
		}
		if j.len() != logged+1 || res.LSN != uint64(j.len()) {
			t.Fatalf("bpop %d: logged %d records, LSN %d", tt.index, j.len()-logged, res.LSN)
		}
		calls := p.take()
		if len(calls) != 1 || len(calls[0].evs) != 1 {
			t.Fatalf("bpop %d published %+v", tt.index, calls)
		}
		if ev := calls[0].evs[0]; ev.Type != EventList || ev.Code != OpListBPop || dec(t, ev.Value) != tt.want || ev.LSN != res.LSN {
			t.Fatalf("bpop %d event %+v", tt.index, ev)
		}
	}
	ok(t, e, Op{Code: OpListBPop, Table: "l"})
	p.take()
	logged := j.len()
	wake := e.Changes("l")
	for _, end := range []int64{0, -1} {
		res := ok(t, e, Op{Code: OpListBPop, Table: "l", Index: end})
		if res.Found || res.Value != nil {
			t.Fatalf("bpop of an empty list: %+v", res)
		}
	}
	if calls := p.take(); j.len() != logged || len(calls) != 0 || closed(wake) {
		t.Fatalf("bpop of an empty list: logged %d records, published %+v, woke waiters %v", j.len()-logged, calls, closed(wake))
	}
	wantErr(t, do(e, Op{Code: OpListBPop, Table: "nope"}), ErrNoTable, "does not exist")
	newTestDict(t, e, "d")
	wantErr(t, do(e, Op{Code: OpListBPop, Table: "d"}), ErrWrongType, "is a dict")
}

func TestList_Move(t *testing.T) {
	tests := []struct {
		name        string
		from, to    string
		index, stop int64
		value       int64
		src, dst    string
	}{
		{"front to back", "a", "b", 0, -1, 1, "[2 3]", "[7 8 1]"},
		{"back to front", "a", "b", -1, 0, 3, "[1 2]", "[3 7 8]"},
		{"back to back", "a", "b", -1, -1, 3, "[1 2]", "[7 8 3]"},
		{"front to front", "a", "b", 0, 0, 1, "[2 3]", "[1 7 8]"},
		{"to a lower name", "b", "a", 0, -1, 7, "[8]", "[1 2 3 7]"},
		{"rotate left", "a", "a", 0, -1, 1, "[2 3 1]", "[2 3 1]"},
		{"rotate right", "a", "a", -1, 0, 3, "[3 1 2]", "[3 1 2]"},
		{"same end", "a", "a", 0, 0, 1, "[1 2 3]", "[1 2 3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(nil)
			j, p := &journal{}, &published{}
			e.SetLog(j.log)
			e.publish = p.publish
			newTestList(t, e, "a", 1, 2, 3)
			newTestList(t, e, "b", 7, 8)
			p.take()
			logged := j.len()
			res := ok(t, e, Op{Code: OpListMove, Table: tt.from, Field: tt.to, Index: tt.index, Stop: tt.stop})
			if !res.Found || dec(t, res.Value) != tt.value {
				t.Fatalf("move: %+v, want %d", res, tt.value)
			}
			if got := fmt.Sprint(listState(t, e, tt.from)); got != tt.src {
				t.Fatalf("source %s, want %s", got, tt.src)
			}
			if got := fmt.Sprint(listState(t, e, tt.to)); got != tt.dst {
				t.Fatalf("destination %s, want %s", got, tt.dst)
			}
			if j.len() != logged+1 || res.LSN != j.last(t).lsn {
				t.Fatalf("logged %d records, LSN %d", j.len()-logged, res.LSN)
			}
			if rec := j.last(t).op; rec.Code != OpListMove || dec(t, rec.Value) != tt.value {
				t.Fatalf("logged %+v: the moved element must travel in Value", rec)
			}
			snap := e.Snapshot()
			for _, name := range []string{tt.from, tt.to} {
				if td := tableOf(t, snap, name); td.LSN != res.LSN {
					t.Fatalf("table %q at LSN %d, want the move's %d", name, td.LSN, res.LSN)
				}
			}
			var evs []Event
			for _, c := range p.take() {
				evs = append(evs, c.evs...)
			}
			if len(evs) != 2 {
				t.Fatalf("%d events, want 2: %+v", len(evs), evs)
			}
			for i, want := range []struct {
				table string
				code  Code
			}{{tt.from, OpListPop}, {tt.to, OpListMove}} {
				ev := evs[i]
				if ev.Table != want.table || ev.Type != EventList || ev.Code != want.code || dec(t, ev.Value) != tt.value ||
					ev.LSN != res.LSN || ev.Rev != evs[0].Rev || ev.Rev == 0 {
					t.Fatalf("event %d: %+v, want %s on %q", i, ev, want.code.Name(), want.table)
				}
			}
		})
	}
}

func TestList_Move_EmptyAndErrors(t *testing.T) {
	e := New(nil)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	newTestList(t, e, "empty")
	newTestList(t, e, "b", 1)
	newTestDict(t, e, "d")
	p.take()
	logged := j.len()
	wakeSrc, wakeDst := e.Changes("empty"), e.Changes("b")
	for _, op := range []Op{
		{Code: OpListMove, Table: "empty", Field: "b"},
		{Code: OpListMove, Table: "empty", Field: "empty", Index: -1},
	} {
		if res := ok(t, e, op); res.Found || res.Value != nil {
			t.Fatalf("move from an empty list: %+v", res)
		}
	}
	if j.len() != logged || len(p.take()) != 0 || closed(wakeSrc) || closed(wakeDst) {
		t.Fatal("move from an empty list logged, published or woke waiters")
	}
	for _, tt := range []struct {
		name string
		op   Op
		code ErrCode
		msg  string
	}{
		{"no destination", Op{Table: "b"}, ErrInvalid, "missing destination list"},
		{"missing source", Op{Table: "nope", Field: "b"}, ErrNoTable, `"nope" does not exist`},
		{"missing destination", Op{Table: "b", Field: "nope"}, ErrNoTable, `"nope" does not exist`},
		{"dict source", Op{Table: "d", Field: "b"}, ErrWrongType, "is a dict"},
		{"dict destination", Op{Table: "b", Field: "d"}, ErrWrongType, "is a dict"},
		{"hidden destination", Op{Table: "b", Field: LockTable}, ErrInvalid, "reserved"},
		{"hidden source", Op{Table: LockTable, Field: "b"}, ErrInvalid, "reserved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.op.Code = OpListMove
			wantErr(t, do(e, tt.op), tt.code, tt.msg)
		})
	}
	if got := fmt.Sprint(listState(t, e, "b")); got != "[1]" || j.len() != logged {
		t.Fatalf("failed moves changed b to %s or logged", got)
	}
}

// TestList_Move_Replay replays a move into engines restored from copies
// taken before and after it, table by table: the source pops only if it
// does not hold the move yet, the destination pushes only if it does not,
// with the element the record carries.
func TestList_Move_Replay(t *testing.T) {
	e := New(nil)
	j := &journal{}
	e.SetLog(j.log)
	newTestList(t, e, "src", 1, 2, 3)
	newTestList(t, e, "dst", 9)
	pre := e.Snapshot()
	ok(t, e, Op{Code: OpListMove, Table: "src", Field: "dst", Index: -1, Stop: 0})
	post := e.Snapshot()
	rec := j.last(t)
	for _, tt := range []struct {
		name     string
		src, dst []TableData
	}{
		{"neither", pre, pre},
		{"both", post, post},
		{"source only", post, pre},
		{"destination only", pre, post},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := New(nil)
			r.Restore([]TableData{tableOf(t, tt.dst, "dst"), tableOf(t, tt.src, "src")})
			mustReplay(t, r, deepOp(&rec.op), rec.lsn)
			if got := fmt.Sprint(listState(t, r, "src"), listState(t, r, "dst")); got != "[1 2] [3 9]" {
				t.Fatalf("after replay: %s, want [1 2] [3 9]", got)
			}
			if d := diffSnapshots(r.Snapshot(), post); d != "" {
				t.Fatalf("after replay: %s", d)
			}
		})
	}
}

func TestEngine_Changes(t *testing.T) {
	e := New(nil)
	if ch := e.Changes("nope"); ch != nil {
		t.Fatal("Changes of a missing table is not nil")
	}
	newTestList(t, e, "l", 1)
	newTestDict(t, e, "d", "k", 1)
	ch := e.Changes("l")
	if ch == nil || closed(ch) {
		t.Fatal("Changes of a list: nil or closed")
	}
	if e.Changes("l") != ch {
		t.Fatal("two waiters of one change got different channels")
	}
	for _, op := range []Op{
		{Code: OpListAll, Table: "l"},
		{Code: OpListBPop, Table: "d"},
		{Code: OpListGet, Table: "l", Index: 9},
		{Code: OpListRemove, Table: "l", Value: enc(t, "nope")},
		{Code: OpListAppend, Table: "d", Value: enc(t, 1)},
	} {
		do(e, op)
		if closed(ch) {
			t.Fatalf("op %d on %q closed the channel", op.Code, op.Table)
		}
	}
	ok(t, e, Op{Code: OpListAppend, Table: "l", Value: enc(t, 2)})
	if !closed(ch) {
		t.Fatal("append did not close the channel")
	}
	ch2 := e.Changes("l")
	if ch2 == ch || closed(ch2) {
		t.Fatal("no fresh channel after a change")
	}
	// A move to l, a dict write, a transaction: each is a change.
	newTestList(t, e, "other", 5)
	ok(t, e, Op{Code: OpListMove, Table: "other", Field: "l"})
	if !closed(ch2) {
		t.Fatal("a move into the list did not close the channel")
	}
	dch := e.Changes("d")
	ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "k", Value: enc(t, 2)})
	if !closed(dch) {
		t.Fatal("a dict write did not close the channel")
	}
	dch = e.Changes("d")
	do(e, txnOf(Op{Code: OpDictSet, Table: "d", Key: "k", Value: enc(t, 3)}, Op{Code: OpCheckAbsent, Table: "d", Key: "k"}))
	if closed(dch) {
		t.Fatal("an aborted transaction closed the channel")
	}
	ok(t, e, txnOf(Op{Code: OpDictSet, Table: "d", Key: "k", Value: enc(t, 3)}))
	if !closed(dch) {
		t.Fatal("a transaction did not close the channel")
	}
	// Dropping the table, or restoring the store, closes it too.
	ch3 := e.Changes("l")
	ok(t, e, Op{Code: OpDropTable, Table: "l"})
	if !closed(ch3) {
		t.Fatal("drop did not close the channel")
	}
	if e.Changes("l") != nil {
		t.Fatal("Changes of a dropped table is not nil")
	}
	dch = e.Changes("d")
	e.Restore(e.Snapshot())
	if !closed(dch) {
		t.Fatal("restore did not close the channel of a replaced table")
	}
}
