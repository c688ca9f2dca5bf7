package engine

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// wantEv is an expected event; Value, Old and Values are decoded (nil:
// absent).
type wantEv struct {
	typ    EventType
	key    string
	value  any
	old    any
	code   Code
	values []any
}

// eventStep is an operation and the events its write publishes.
type eventStep struct {
	op  Op
	err ErrCode
	evs []wantEv
}

// runEventSteps applies each step to e, which logs to j and publishes to
// p, and checks that it publishes exactly the events expected, in one
// call, with the table's name, one revision larger than the table's
// previous one, and the LSN the log gave the write.
func runEventSteps(t *testing.T, e *Engine, j *journal, p *published, table string, steps []eventStep) {
	t.Helper()
	var lastRev, lastLSN uint64
	for i, s := range steps {
		logged := j.len()
		res := do(e, s.op)
		if res.Err != s.err {
			t.Fatalf("step %d (code %d): err %d %q, want %d", i, s.op.Code, res.Err, res.Msg, s.err)
		}
		calls := p.take()
		if len(s.evs) == 0 {
			if len(calls) != 0 {
				t.Fatalf("step %d (code %d): published %+v, want nothing", i, s.op.Code, calls)
			}
			if s.err != OK && j.len() != logged {
				t.Fatalf("step %d (code %d): a failed write was logged", i, s.op.Code)
			}
			continue
		}
		if len(calls) != 1 || calls[0].table != table {
			t.Fatalf("step %d (code %d): published %+v, want one call for %q", i, s.op.Code, calls, table)
		}
		if j.len() != logged+1 || res.LSN != j.last(t).lsn {
			t.Fatalf("step %d (code %d): %d records, LSN %d", i, s.op.Code, j.len()-logged, res.LSN)
		}
		evs := calls[0].evs
		if len(evs) != len(s.evs) {
			t.Fatalf("step %d (code %d): events %+v, want %d", i, s.op.Code, evs, len(s.evs))
		}
		rev := evs[0].Rev
		if rev <= lastRev || res.LSN <= lastLSN {
			t.Fatalf("step %d: revision %d LSN %d after %d and %d", i, rev, res.LSN, lastRev, lastLSN)
		}
		lastRev, lastLSN = rev, res.LSN
		for k, w := range s.evs {
			if d := diffEvent(t, evs[k], w); d != "" {
				t.Fatalf("step %d (code %d) event %d: %s in %+v", i, s.op.Code, k, d, evs[k])
			}
			if evs[k].Rev != rev || evs[k].Table != table || evs[k].LSN != res.LSN {
				t.Fatalf("step %d event %d: rev %d table %q LSN %d, want %d %q %d", i, k, evs[k].Rev, evs[k].Table, evs[k].LSN, rev, table, res.LSN)
			}
		}
	}
}

// diffEvent says how ev differs from w, or returns "".
func diffEvent(t *testing.T, ev Event, w wantEv) string {
	t.Helper()
	opt := func(b cbor.RawMessage) any {
		if b == nil {
			return nil
		}
		return dec(t, b)
	}
	var values []any
	if ev.Values != nil {
		values = decs(t, ev.Values)
	}
	switch {
	case ev.Type != w.typ:
		return fmt.Sprintf("type %v, want %v", ev.Type, w.typ)
	case ev.Key != w.key:
		return fmt.Sprintf("key %q, want %q", ev.Key, w.key)
	case fmt.Sprint(opt(ev.Value)) != fmt.Sprint(w.value):
		return fmt.Sprintf("value %v, want %v", opt(ev.Value), w.value)
	case fmt.Sprint(opt(ev.Old)) != fmt.Sprint(w.old):
		return fmt.Sprintf("old %v, want %v", opt(ev.Old), w.old)
	case ev.Code != w.code:
		return fmt.Sprintf("code %d, want %d", ev.Code, w.code)
	case fmt.Sprint(values) != fmt.Sprint(w.values):
		return fmt.Sprintf("values %v, want %v", values, w.values)
	}
	return ""
}

func TestEvents_Dict(t *testing.T) {
	e, _ := newTimedEngine(t)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	v := func(x any) cbor.RawMessage { return enc(t, x) }
	set := func(k string, val, old any) wantEv { return wantEv{typ: EventSet, key: k, value: val, old: old} }
	del := func(k string, old any) wantEv { return wantEv{typ: EventDelete, key: k, old: old} }
	d := func(op Op) Op { op.Table = "d"; return op }
	runEventSteps(t, e, j, p, "d", []eventStep{
		{op: Op{Code: OpCreateTable, Table: "d", Kind: KindDict, Keys: []string{"a"}, Values: []cbor.RawMessage{v(1)}}, evs: []wantEv{{typ: EventCreate}}},
		{op: d(Op{Code: OpDictSet, Key: "a", Value: v(2)}), evs: []wantEv{set("a", 2, 1)}},
		{op: d(Op{Code: OpDictSet, Key: "b", Value: v(3)}), evs: []wantEv{set("b", 3, nil)}},
		{op: d(Op{Code: OpDictUpdate, Keys: []string{"b", "c"}, Values: []cbor.RawMessage{v(4), v(5)}}), evs: []wantEv{set("b", 4, 3), set("c", 5, nil)}},
		{op: d(Op{Code: OpDictDelete, Key: "a"}), evs: []wantEv{del("a", 2)}},
		{op: d(Op{Code: OpDictDelete, Key: "a"})},
		{op: d(Op{Code: OpDictPop, Key: "b"}), evs: []wantEv{del("b", 4)}},
		{op: d(Op{Code: OpDictPop, Key: "b"})},
		{op: d(Op{Code: OpDictSetDefault, Key: "c", Value: v(0)})},
		{op: d(Op{Code: OpDictGetAndSet, Key: "c", Value: v(6)}), evs: []wantEv{set("c", 6, 5)}},
		{op: d(Op{Code: OpDictCAS, Key: "c", Old: v(6), Value: v(7)}), evs: []wantEv{set("c", 7, 6)}},
		{op: d(Op{Code: OpDictCAS, Key: "c", Old: v(6), Value: v(8)})},
		{op: d(Op{Code: OpDictSetNX, Key: "n", Value: v("x")}), evs: []wantEv{set("n", "x", nil)}},
		{op: d(Op{Code: OpDictSetNX, Key: "n", Value: v("y")})},
		{op: d(Op{Code: OpDictIncr, Key: "cnt", Delta: 2}), evs: []wantEv{set("cnt", 2, nil)}},
		{op: d(Op{Code: OpDictIncr, Key: "cnt", Delta: 3}), evs: []wantEv{set("cnt", 5, 2)}},
		{op: d(Op{Code: OpDictIncrFloat, Key: "f", Float: 1.5}), evs: []wantEv{set("f", 1.5, nil)}},
		{op: d(Op{Code: OpDictIncr, Key: "n", Delta: 1}), err: ErrWrongType},
		{op: d(Op{Code: OpDictPopItem}), evs: []wantEv{del("n", "x")}},
		{op: d(Op{Code: OpDictExpire, Key: "c", TTL: 1e9})},
		{op: d(Op{Code: OpDictPersist, Key: "c"})},
		{op: d(Op{Code: OpTableTTL, TTL: 1e9})},
		{op: d(Op{Code: OpDictGet, Key: "c"})},
		{op: d(Op{Code: OpDictClear}), evs: []wantEv{{typ: EventClear}}},
		{op: d(Op{Code: OpDictPopItem})},
		{op: d(Op{Code: OpDropTable}), evs: []wantEv{{typ: EventDrop}}},
	})
}

func TestEvents_List(t *testing.T) {
	e, _ := newTimedEngine(t)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	v := func(x any) cbor.RawMessage { return enc(t, x) }
	l := func(op Op) Op { op.Table = "l"; return op }
	list := func(c Code, val any, vals ...any) wantEv {
		return wantEv{typ: EventList, code: c, value: val, values: vals}
	}
	runEventSteps(t, e, j, p, "l", []eventStep{
		{op: Op{Code: OpCreateTable, Table: "l", Kind: KindList, Values: []cbor.RawMessage{v(1)}}, evs: []wantEv{{typ: EventCreate}}},
		{op: l(Op{Code: OpListAppend, Value: v(2)}), evs: []wantEv{list(OpListAppend, 2)}},
		{op: l(Op{Code: OpListExtend, Values: []cbor.RawMessage{v(3), v(4)}}), evs: []wantEv{list(OpListExtend, nil, 3, 4)}},
		{op: l(Op{Code: OpListInsert, Index: 0, Value: v(0)}), evs: []wantEv{list(OpListInsert, 0)}},
		{op: l(Op{Code: OpListSet, Index: 1, Value: v(10)}), evs: []wantEv{list(OpListSet, 10)}},
		{op: l(Op{Code: OpListPop, Index: -1}), evs: []wantEv{list(OpListPop, 4)}},
		{op: l(Op{Code: OpListRemove, Value: v(3)}), evs: []wantEv{list(OpListRemove, 3)}},
		{op: l(Op{Code: OpListRemove, Value: v(3)}), err: ErrNotFound},
		{op: l(Op{Code: OpListReverse}), evs: []wantEv{list(OpListReverse, nil)}},
		{op: l(Op{Code: OpListSort}), evs: []wantEv{list(OpListSort, nil)}},
		{op: l(Op{Code: OpListSetSlice, Index: 0, Stop: 1, Values: []cbor.RawMessage{v(8), v(9)}}), evs: []wantEv{list(OpListSetSlice, nil, 8, 9)}},
		{op: l(Op{Code: OpListDeleteSlice, Index: 0, Stop: 1}), evs: []wantEv{list(OpListDeleteSlice, nil)}},
		{op: l(Op{Code: OpListDelete, Index: 0}), evs: []wantEv{list(OpListDelete, nil)}},
		{op: l(Op{Code: OpListBPop, Index: 0}), evs: []wantEv{list(OpListBPop, 2)}},
		{op: l(Op{Code: OpListSet, Index: 5, Value: v(1)}), err: ErrIndex},
		{op: l(Op{Code: OpListLen})},
		{op: l(Op{Code: OpListClear}), evs: []wantEv{{typ: EventClear}}},
		{op: l(Op{Code: OpListPop}), err: ErrIndex},
		{op: l(Op{Code: OpListBPop})},
		{op: Op{Code: OpDropTable, Table: "l"}, evs: []wantEv{{typ: EventDrop}}},
	})
}

// TestEvents_Concurrent writes to two dicts from several goroutines, with
// transactions over both: each table's events must come in increasing
// revisions and LSNs, and a transaction's changes share its revision.
func TestEvents_Concurrent(t *testing.T) {
	e := New(nil)
	j, p := &journal{}, &published{}
	e.SetLog(j.log)
	e.publish = p.publish
	newTestDict(t, e, "x")
	newTestDict(t, e, "y")
	n := 300
	if testing.Short() {
		n = 50
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range n {
				k := fmt.Sprintf("k%d", rng.IntN(10))
				switch rng.IntN(3) {
				case 0:
					noErr(t, do(e, Op{Code: OpDictSet, Table: "x", Key: k, Value: enc(t, i)}))
				case 1:
					noErr(t, do(e, Op{Code: OpDictIncr, Table: "y", Key: k, Delta: 1}))
				default:
					noErr(t, do(e, txnOf(
						Op{Code: OpDictSet, Table: "x", Key: k, Value: enc(t, -i)},
						Op{Code: OpDictIncr, Table: "y", Key: k, Delta: 1},
					)))
				}
			}
		})
	}
	wg.Wait()
	last := map[string][2]uint64{}
	revTables := map[uint64]map[string]bool{}
	for _, c := range p.take() {
		prev := last[c.table]
		if len(c.evs) == 0 {
			t.Fatalf("empty publish for %q", c.table)
		}
		rev, lsn := c.evs[0].Rev, c.evs[0].LSN
		if rev <= prev[0] || lsn <= prev[1] {
			t.Fatalf("%q published rev %d LSN %d after rev %d LSN %d", c.table, rev, lsn, prev[0], prev[1])
		}
		last[c.table] = [2]uint64{rev, lsn}
		if revTables[rev] == nil {
			revTables[rev] = map[string]bool{}
		}
		if revTables[rev][c.table] {
			t.Fatalf("revision %d published twice for %q", rev, c.table)
		}
		revTables[rev][c.table] = true
	}
	// A record of the log is a transaction exactly when its revision
	// reached both tables.
	for _, r := range j.records() {
		both := len(revTables[r.op.Rev]) == 2
		if both != (r.op.Code == OpTxn) {
			t.Fatalf("record %d (code %d, rev %d) published to %v", r.lsn, r.op.Code, r.op.Rev, revTables[r.op.Rev])
		}
	}
}
