package engine

import (
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// loggedOp is an operation as the log saw it.
type loggedOp struct {
	op  Op
	lsn uint64
}

// TestLog_ReplayRebuildsState logs every change of one engine, replays
// the log into a second engine restored from a mid-way snapshot, and
// checks both hold the same tables.
func TestLog_ReplayRebuildsState(t *testing.T) {
	e := New(nil)
	var log []loggedOp
	e.SetLog(func(op *Op, res *Result) uint64 {
		log = append(log, loggedOp{*op, uint64(len(log) + 1)})
		return uint64(len(log))
	})
	v := func(s string) cbor.RawMessage { b, _ := cbor.Marshal(s); return b }
	ops := []Op{
		{Code: OpCreateTable, Table: "d", Kind: KindDict},
		{Code: OpDictSet, Table: "d", Key: "a", Value: v("1")},
		{Code: OpCreateTable, Table: "l", Kind: KindList},
		{Code: OpListAppend, Table: "l", Value: v("x")},
		{Code: OpDictIncr, Table: "d", Key: "n", Delta: 5},
		{Code: OpDropTable, Table: "l"},
		{Code: OpCreateTable, Table: "l", Kind: KindList},
		{Code: OpListAppend, Table: "l", Value: v("y")},
		{Code: OpDictIncr, Table: "d", Key: "n", Delta: 2},
		{Code: OpListGet, Table: "l", Index: 0}, // a read: not logged
	}
	var snap []TableData
	for i, op := range ops {
		var res Result
		e.Apply(&op, &res)
		if res.Err != OK {
			t.Fatalf("op %d: %s", i, res.Msg)
		}
		if i == 4 {
			snap = e.Snapshot()
		}
	}
	if len(log) != 9 {
		t.Fatalf("logged %d changes, want 9", len(log))
	}
	r := New(nil)
	r.Restore(snap)
	for _, l := range log {
		r.Replay(&l.op, l.lsn)
	}
	want, got := e.Snapshot(), r.Snapshot()
	if len(want) != len(got) {
		t.Fatalf("replayed %d tables, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i].Name != got[i].Name || want[i].LSN != got[i].LSN || len(want[i].Dict) != len(got[i].Dict) || len(want[i].List) != len(got[i].List) {
			t.Fatalf("table %d: replayed %+v, want %+v", i, got[i], want[i])
		}
		for k, val := range want[i].Dict {
			if string(got[i].Dict[k].V) != string(val.V) {
				t.Fatalf("table %s key %s differs after replay", want[i].Name, k)
			}
		}
	}
}

func TestEngine_RestoreOwned(t *testing.T) {
	v, _ := cbor.Marshal(1)
	tables := []TableData{
		{Name: "d", Kind: KindDict, LSN: 4, Dict: map[string]Entry{"k": {V: v}}},
		{Name: "l", Kind: KindList, List: [][]byte{v}},
		{Name: "", Kind: KindDict, Dict: map[string]Entry{}},
	}
	e := New(nil)
	e.RestoreOwned(tables)
	got := e.Snapshot()
	if len(got) != 2 || got[0].LSN != 4 || len(got[0].Dict) != 1 || len(got[1].List) != 1 {
		t.Fatalf("restored %+v", got)
	}
}
