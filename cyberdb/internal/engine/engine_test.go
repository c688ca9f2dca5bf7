package engine

import (
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/fxamacker/cbor/v2"
)

// enc encodes v with the default codec.
func enc(t testing.TB, v any) cbor.RawMessage {
	t.Helper()
	b, err := ipc.DefaultCodec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encs encodes each of vs.
func encs(t testing.TB, vs ...any) []cbor.RawMessage {
	t.Helper()
	out := make([]cbor.RawMessage, len(vs))
	for i, v := range vs {
		out[i] = enc(t, v)
	}
	return out
}

// dec decodes b with the default codec; big integers come back as
// *big.Int, which prints well.
func dec(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := ipc.DefaultCodec.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if x, ok := v.(big.Int); ok {
		return &x
	}
	return v
}

// decs decodes each of bs.
func decs(t testing.TB, bs []cbor.RawMessage) []any {
	t.Helper()
	out := make([]any, len(bs))
	for i, b := range bs {
		out[i] = dec(t, b)
	}
	return out
}

// do applies op to e and returns the result.
func do(e *Engine, op Op) Result {
	var res Result
	e.Apply(&op, &res)
	return res
}

// ok applies op and fails the test unless it succeeds.
func ok(t testing.TB, e *Engine, op Op) Result {
	t.Helper()
	res := do(e, op)
	if res.Err != OK || res.Msg != "" {
		t.Fatalf("op %d on %q: err %d %q", op.Code, op.Table, res.Err, res.Msg)
	}
	return res
}

// wantErr checks the error of res; msg is a substring of the message.
func wantErr(t testing.TB, res Result, code ErrCode, msg string) {
	t.Helper()
	if res.Err != code || !strings.Contains(res.Msg, msg) {
		t.Fatalf("got err %d %q, want %d containing %q", res.Err, res.Msg, code, msg)
	}
}

// newTestDict creates a dict from alternating keys and values.
func newTestDict(t testing.TB, e *Engine, name string, kv ...any) {
	t.Helper()
	op := Op{Code: OpCreateTable, Table: name, Kind: KindDict}
	for i := 0; i < len(kv); i += 2 {
		op.Keys = append(op.Keys, kv[i].(string))
		op.Values = append(op.Values, enc(t, kv[i+1]))
	}
	ok(t, e, op)
}

// newTestList creates a list holding vs.
func newTestList(t testing.TB, e *Engine, name string, vs ...any) {
	t.Helper()
	ok(t, e, Op{Code: OpCreateTable, Table: name, Kind: KindList, Values: encs(t, vs...)})
}

func TestEngine_Tables(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "jobs", "a", 1)
	newTestList(t, e, "queue", "x")
	tests := []struct {
		name string
		op   Op
		code ErrCode
		msg  string
	}{
		{"create existing", Op{Code: OpCreateTable, Table: "jobs", Kind: KindList}, ErrTableExists, `table "jobs" already exists (a dict)`},
		{"create empty name", Op{Code: OpCreateTable, Kind: KindDict}, ErrInvalid, "empty table name"},
		{"create bad utf8", Op{Code: OpCreateTable, Table: "\xff", Kind: KindDict}, ErrInvalid, "not valid UTF-8"},
		{"create bad kind", Op{Code: OpCreateTable, Table: "x", Kind: 9}, ErrInvalid, "unknown table kind 9"},
		{"create mismatch", Op{Code: OpCreateTable, Table: "x", Kind: KindDict, Keys: []string{"a"}}, ErrInvalid, "1 keys but 0 values"},
		{"create list keys", Op{Code: OpCreateTable, Table: "x", Kind: KindList, Keys: []string{"a"}, Values: encs(t, 1)}, ErrInvalid, "a list takes no keys"},
		{"create nil value", Op{Code: OpCreateTable, Table: "x", Kind: KindList, Values: []cbor.RawMessage{nil}}, ErrInvalid, "element 0: missing value"},
		{"create bad key", Op{Code: OpCreateTable, Table: "x", Kind: KindDict, Keys: []string{"\xff"}, Values: encs(t, 1)}, ErrInvalid, "not valid UTF-8"},
		{"open dict", Op{Code: OpOpenTable, Table: "jobs", Kind: KindDict}, OK, ""},
		{"open as list", Op{Code: OpOpenTable, Table: "jobs", Kind: KindList}, ErrWrongType, `table "jobs" is a dict, not a list`},
		{"open missing", Op{Code: OpOpenTable, Table: "nope", Kind: KindList}, ErrNoTable, `table "nope" does not exist`},
		{"open no kind", Op{Code: OpOpenTable, Table: "jobs"}, ErrInvalid, "unknown table kind 0"},
		{"open empty", Op{Code: OpOpenTable, Kind: KindDict}, ErrInvalid, "empty table name"},
		{"drop missing", Op{Code: OpDropTable, Table: "nope"}, ErrNoTable, `table "nope" does not exist`},
		{"drop empty", Op{Code: OpDropTable}, ErrInvalid, "empty table name"},
		{"dict op on list", Op{Code: OpDictGet, Table: "queue"}, ErrWrongType, `table "queue" is a list, not a dict`},
		{"list op on dict", Op{Code: OpListLen, Table: "jobs"}, ErrWrongType, `table "jobs" is a dict, not a list`},
		{"unknown code", Op{Code: 200}, ErrInvalid, "unknown operation code 200"},
		{"zero code", Op{}, ErrInvalid, "unknown operation code 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, do(e, tt.op), tt.code, tt.msg)
		})
	}
	res := ok(t, e, Op{Code: OpTables})
	want := []TableInfo{{"jobs", KindDict}, {"queue", KindList}}
	if fmt.Sprint(res.Tables) != fmt.Sprint(want) {
		t.Fatalf("tables %v, want %v", res.Tables, want)
	}
	ok(t, e, Op{Code: OpDropTable, Table: "jobs"})
	wantErr(t, do(e, Op{Code: OpDictGet, Table: "jobs"}), ErrNoTable, `table "jobs" does not exist`)
	ok(t, e, Op{Code: OpCreateTable, Table: "jobs", Kind: KindList})
	ok(t, e, Op{Code: OpOpenTable, Table: "jobs", Kind: KindList})
}

func TestEngine_Apply_NilOp(t *testing.T) {
	var res Result
	New(nil).Apply(nil, &res)
	wantErr(t, res, ErrInvalid, "nil operation")
}

// TestEngine_Apply_NoPanic applies every code with zero and odd fields to
// tables of both kinds: nothing may panic, and failures carry a message.
func TestEngine_Apply_NoPanic(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "d", "a", 1, "b", "s")
	newTestList(t, e, "l", 1, "x")
	odd := []Op{
		{},
		{Index: -1 << 63, Stop: 1<<63 - 1, Limit: -1, Delta: 1<<63 - 1},
		{Index: 1<<63 - 1, Stop: -1 << 63, Limit: 1 << 62, Cursor: 99},
		{Keys: []string{"a", "b"}, Values: []cbor.RawMessage{{0x01}}},
		{Key: "b", Value: cbor.RawMessage{0xff}, Old: cbor.RawMessage{0x1f}, Field: "f"},
		{Key: "a", Value: cbor.RawMessage{0x18}, Values: []cbor.RawMessage{{}, nil}},
	}
	for code := Code(0); code <= OpCloseCursor+1; code++ {
		for _, table := range []string{"", "d", "l", "missing"} {
			for i, o := range odd {
				o.Code, o.Table, o.Kind = code, table, Kind(i%4)
				res := do(e, o)
				if (res.Err == OK) != (res.Msg == "") {
					t.Fatalf("code %d table %q odd %d: err %d msg %q", code, table, i, res.Err, res.Msg)
				}
				if res.Err == ErrInternal {
					t.Fatalf("code %d table %q odd %d: internal error %q", code, table, i, res.Msg)
				}
			}
		}
	}
}

func TestEngine_Concurrent_Incr(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "c")
	const workers, n = 8, 300
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range n {
				noErr(t, do(e, Op{Code: OpDictIncr, Table: "c", Key: "x", Delta: 1}))
				noErr(t, do(e, Op{Code: OpListAppend, Table: "l", Value: enc(t, 1)}.orCreate(t, e)))
			}
		})
	}
	wg.Wait()
	if got := ok(t, e, Op{Code: OpDictIncr, Table: "c", Key: "x"}).Int; got != workers*n {
		t.Fatalf("counter %d, want %d", got, workers*n)
	}
	if got := ok(t, e, Op{Code: OpListLen, Table: "l"}).Int; got != workers*n {
		t.Fatalf("list length %d, want %d", got, workers*n)
	}
}

// noErr reports a failed result; it is safe to call from any goroutine.
func noErr(t testing.TB, res Result) {
	if res.Err != OK {
		t.Errorf("err %d %q", res.Err, res.Msg)
	}
}

// orCreate makes sure the list table of op exists and returns op.
func (op Op) orCreate(t testing.TB, e *Engine) Op {
	res := do(e, Op{Code: OpCreateTable, Table: op.Table, Kind: KindList})
	if res.Err != OK && res.Err != ErrTableExists {
		t.Errorf("create: %d %s", res.Err, res.Msg)
	}
	return op
}

// TestEngine_Concurrent_DropCreate races operations against dropping and
// re-creating their table: each sees either the table or ErrNoTable.
func TestEngine_Concurrent_DropCreate(t *testing.T) {
	e := New(nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				res := do(e, Op{Code: OpDictSet, Table: "t", Key: "k", Value: enc(t, 1)})
				if res.Err != OK && res.Err != ErrNoTable {
					t.Errorf("set: %d %s", res.Err, res.Msg)
				}
				do(e, Op{Code: OpDictScan, Table: "t", Limit: 1, Client: 1})
			}
		})
	}
	for range 500 {
		do(e, Op{Code: OpCreateTable, Table: "t", Kind: KindDict, Keys: []string{"a", "b"}, Values: encs(t, 1, 2)})
		do(e, Op{Code: OpDropTable, Table: "t"})
	}
	close(stop)
	wg.Wait()
}

// TestEngine_Snapshot_Consistent takes snapshots while writers update all
// keys of a dict at once: every snapshot must see equal values.
func TestEngine_Snapshot_Consistent(t *testing.T) {
	e := New(nil)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	newTestDict(t, e, "d")
	newTestList(t, e, "l")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				v := enc(t, w*1_000_000+i)
				vals := make([]cbor.RawMessage, len(keys))
				for j := range vals {
					vals[j] = v
				}
				noErr(t, do(e, Op{Code: OpDictUpdate, Table: "d", Keys: keys, Values: vals}))
				noErr(t, do(e, Op{Code: OpListSetSlice, Table: "l", Index: 0, Stop: 1 << 62, Values: vals}))
			}
		})
	}
	for range 300 {
		for _, td := range e.Snapshot() {
			checkUniform(t, td)
		}
	}
	close(stop)
	wg.Wait()
}

// checkUniform fails unless every value of td is the same.
func checkUniform(t *testing.T, td TableData) {
	t.Helper()
	var first []byte
	n := 0
	for _, en := range td.Dict {
		v := en.V
		n, first = n+1, v
		if string(v) != string(first) {
			t.Fatalf("snapshot of %q is torn", td.Name)
		}
	}
	for _, v := range td.List {
		if first == nil {
			first = v
		}
		if string(v) != string(first) {
			t.Fatalf("snapshot of %q is torn", td.Name)
		}
	}
	if td.Kind == KindDict && n != 0 && n != 8 || td.Kind == KindList && len(td.List) != 0 && len(td.List) != 8 {
		t.Fatalf("snapshot of %q has %d/%d entries", td.Name, n, len(td.List))
	}
}

func TestEngine_SnapshotRestore(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "b", "k", 1, "z", "")
	newTestList(t, e, "a", 0, false, "")
	newTestDict(t, e, "empty")
	snap := e.Snapshot()
	if len(snap) != 3 || snap[0].Name != "a" || snap[1].Name != "b" || snap[2].Name != "empty" {
		t.Fatalf("snapshot order: %+v", snap)
	}
	if snap[2].Dict == nil || len(snap[0].List) != 3 {
		t.Fatalf("snapshot content: %+v", snap)
	}
	ok(t, e, Op{Code: OpDictSet, Table: "b", Key: "k", Value: enc(t, 2)})
	if dec(t, snap[1].Dict["k"].V) != int64(1) {
		t.Fatal("snapshot changed with the table")
	}
	f := New(nil)
	newTestDict(t, f, "gone")
	f.Restore(append(snap, TableData{Name: ""}, TableData{Name: "bad", Kind: 7}))
	wantErr(t, do(f, Op{Code: OpDictLen, Table: "gone"}), ErrNoTable, "gone")
	if got := ok(t, f, Op{Code: OpTables}).Tables; len(got) != 3 {
		t.Fatalf("restored tables %v", got)
	}
	if got := ok(t, f, Op{Code: OpDictGet, Table: "b", Key: "k"}); dec(t, got.Value) != int64(1) {
		t.Fatalf("restored value %v", dec(t, got.Value))
	}
	ok(t, f, Op{Code: OpListAppend, Table: "a", Value: enc(t, 9)})
	if len(snap[0].List) != 3 {
		t.Fatal("restore shares the list with the snapshot")
	}
	ok(t, f, Op{Code: OpDictSet, Table: "empty", Key: "x", Value: enc(t, 9)})
	if len(snap[2].Dict) != 0 {
		t.Fatal("restore shares the map with the snapshot")
	}
}
