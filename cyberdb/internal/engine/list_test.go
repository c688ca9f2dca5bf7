package engine

import (
	"fmt"
	"math"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// end stands for an omitted slice stop, as in l[i:].
const end = math.MaxInt64

// listState returns the decoded content of a list.
func listState(t testing.TB, e *Engine, name string) []any {
	t.Helper()
	return decs(t, ok(t, e, Op{Code: OpListAll, Table: name}).Values)
}

// TestList_Ops checks each operation on [0 1 2 3 4] against what Python
// does on the same list.
func TestList_Ops(t *testing.T) {
	v := func(n int) cbor.RawMessage { return cbor.RawMessage{byte(n)} }
	vs := func(ns ...int) []cbor.RawMessage {
		out := make([]cbor.RawMessage, len(ns))
		for i, n := range ns {
			out[i] = v(n)
		}
		return out
	}
	tests := []struct {
		name   string
		op     Op
		result string // fmt of the decoded Value, Values and Int
		after  string // "" when unchanged
		code   ErrCode
		msg    string
	}{
		{name: "get -5", op: Op{Code: OpListGet, Index: -5}, result: "0 [] 0"},
		{name: "get -6", op: Op{Code: OpListGet, Index: -6}, code: ErrIndex, msg: "list index -6 out of range (length 5)"},
		{name: "get 5", op: Op{Code: OpListGet, Index: 5}, code: ErrIndex, msg: "list index 5 out of range (length 5)"},
		{name: "slice 1:3", op: Op{Code: OpListSlice, Index: 1, Stop: 3}, result: "<nil> [1 2] 0"},
		{name: "slice -2:", op: Op{Code: OpListSlice, Index: -2, Stop: end}, result: "<nil> [3 4] 0"},
		{name: "slice 3:1", op: Op{Code: OpListSlice, Index: 3, Stop: 1}, result: "<nil> [] 0"},
		{name: "slice -100:100", op: Op{Code: OpListSlice, Index: -100, Stop: 100}, result: "<nil> [0 1 2 3 4] 0"},
		{name: "slice :-1", op: Op{Code: OpListSlice, Stop: -1}, result: "<nil> [0 1 2 3] 0"},
		{name: "slice extremes", op: Op{Code: OpListSlice, Index: math.MinInt64, Stop: math.MaxInt64}, result: "<nil> [0 1 2 3 4] 0"},
		{name: "all", op: Op{Code: OpListAll}, result: "<nil> [0 1 2 3 4] 0"},
		{name: "len", op: Op{Code: OpListLen}, result: "<nil> [] 5"},
		{name: "count", op: Op{Code: OpListCount, Value: v(2)}, result: "<nil> [] 1"},
		{name: "count none", op: Op{Code: OpListCount, Value: v(9)}, result: "<nil> [] 0"},
		{name: "index", op: Op{Code: OpListIndex, Value: v(4)}, result: "<nil> [] 4"},
		{name: "index none", op: Op{Code: OpListIndex, Value: v(9)}, code: ErrNotFound, msg: `value not in list "l"`},
		{name: "pop", op: Op{Code: OpListPop, Index: -1}, result: "4 [] 0", after: "[0 1 2 3]"},
		{name: "pop 0", op: Op{Code: OpListPop}, result: "0 [] 0", after: "[1 2 3 4]"},
		{name: "pop -5", op: Op{Code: OpListPop, Index: -5}, result: "0 [] 0", after: "[1 2 3 4]"},
		{name: "pop 5", op: Op{Code: OpListPop, Index: 5}, code: ErrIndex, msg: "pop index 5 out of range (length 5)"},
		{name: "insert -1", op: Op{Code: OpListInsert, Index: -1, Value: v(9)}, after: "[0 1 2 3 9 4]"},
		{name: "insert -100", op: Op{Code: OpListInsert, Index: -100, Value: v(9)}, after: "[9 0 1 2 3 4]"},
		{name: "insert 100", op: Op{Code: OpListInsert, Index: 100, Value: v(9)}, after: "[0 1 2 3 4 9]"},
		{name: "insert 2", op: Op{Code: OpListInsert, Index: 2, Value: v(9)}, after: "[0 1 9 2 3 4]"},
		{name: "setslice shrink", op: Op{Code: OpListSetSlice, Index: 1, Stop: 3, Values: vs(7)}, after: "[0 7 3 4]"},
		{name: "setslice grow", op: Op{Code: OpListSetSlice, Index: 1, Stop: 1, Values: vs(7, 8)}, after: "[0 7 8 1 2 3 4]"},
		{name: "setslice reversed", op: Op{Code: OpListSetSlice, Index: 3, Stop: 1, Values: vs(7, 8)}, after: "[0 1 2 7 8 3 4]"},
		{name: "setslice empty", op: Op{Code: OpListSetSlice, Index: -2, Stop: end}, after: "[0 1 2]"},
		{name: "setslice same", op: Op{Code: OpListSetSlice, Index: 0, Stop: 2, Values: vs(8, 9)}, after: "[8 9 2 3 4]"},
		{name: "delslice", op: Op{Code: OpListDeleteSlice, Index: 1, Stop: -1}, after: "[0 4]"},
		{name: "delslice reversed", op: Op{Code: OpListDeleteSlice, Index: -1, Stop: 1}},
		{name: "delete -1", op: Op{Code: OpListDelete, Index: -1}, after: "[0 1 2 3]"},
		{name: "delete 5", op: Op{Code: OpListDelete, Index: 5}, code: ErrIndex, msg: "list assignment index 5 out of range (length 5)"},
		{name: "set -5", op: Op{Code: OpListSet, Index: -5, Value: v(9)}, after: "[9 1 2 3 4]"},
		{name: "set 5", op: Op{Code: OpListSet, Index: 5, Value: v(9)}, code: ErrIndex, msg: "list assignment index 5 out of range (length 5)"},
		{name: "remove", op: Op{Code: OpListRemove, Value: v(3)}, after: "[0 1 2 4]"},
		{name: "remove none", op: Op{Code: OpListRemove, Value: v(7)}, code: ErrNotFound, msg: `value not in list "l"`},
		{name: "reverse", op: Op{Code: OpListReverse}, after: "[4 3 2 1 0]"},
		{name: "clear", op: Op{Code: OpListClear}, after: "[]"},
		{name: "append", op: Op{Code: OpListAppend, Value: v(5)}, result: "<nil> [] 6", after: "[0 1 2 3 4 5]"},
		{name: "extend", op: Op{Code: OpListExtend, Values: vs(5, 6)}, result: "<nil> [] 7", after: "[0 1 2 3 4 5 6]"},
		{name: "extend none", op: Op{Code: OpListExtend}, result: "<nil> [] 5"},
		{name: "append nil", op: Op{Code: OpListAppend}, code: ErrInvalid, msg: "missing value"},
		{name: "set malformed", op: Op{Code: OpListSet, Value: cbor.RawMessage{0x5f}}, code: ErrInvalid, msg: "not one well-formed"},
		{name: "extend nil", op: Op{Code: OpListExtend, Values: []cbor.RawMessage{v(1), nil}}, code: ErrInvalid, msg: "element 1: missing value"},
		{name: "setslice nil", op: Op{Code: OpListSetSlice, Values: []cbor.RawMessage{{}}}, code: ErrInvalid, msg: "element 0: missing value"},
		{name: "insert nil", op: Op{Code: OpListInsert}, code: ErrInvalid, msg: "missing value"},
		{name: "remove nil", op: Op{Code: OpListRemove}, code: ErrInvalid, msg: "missing value"},
		{name: "count nil", op: Op{Code: OpListCount}, code: ErrInvalid, msg: "missing value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(nil)
			newTestList(t, e, "l", 0, 1, 2, 3, 4)
			tt.op.Table = "l"
			res := do(e, tt.op)
			wantErr(t, res, tt.code, tt.msg)
			if tt.code != OK {
				tt.result, tt.after = "", ""
			}
			if tt.result != "" {
				var value any
				if res.Value != nil {
					value = dec(t, res.Value)
				}
				if got := fmt.Sprint(value, decs(t, res.Values), res.Int); got != tt.result {
					t.Fatalf("result %s, want %s", got, tt.result)
				}
			}
			if tt.after == "" {
				tt.after = "[0 1 2 3 4]"
			}
			if got := fmt.Sprint(listState(t, e, "l")); got != tt.after {
				t.Fatalf("list %s, want %s", got, tt.after)
			}
		})
	}
}

func TestList_PopEmpty(t *testing.T) {
	e := New(nil)
	newTestList(t, e, "l")
	wantErr(t, do(e, Op{Code: OpListPop, Table: "l", Index: -1}), ErrIndex, "pop from empty list")
	wantErr(t, do(e, Op{Code: OpListGet, Table: "l"}), ErrIndex, "list index 0 out of range (length 0)")
}

// TestList_ResultsDetached checks that results do not change when the list
// changes afterwards.
func TestList_ResultsDetached(t *testing.T) {
	e := New(nil)
	newTestList(t, e, "l", 0, 1, 2)
	all := ok(t, e, Op{Code: OpListAll, Table: "l"})
	slice := ok(t, e, Op{Code: OpListSlice, Table: "l", Stop: 2})
	ok(t, e, Op{Code: OpListSet, Table: "l", Value: enc(t, 9)})
	ok(t, e, Op{Code: OpListReverse, Table: "l"})
	if fmt.Sprint(decs(t, all.Values), decs(t, slice.Values)) != "[0 1 2] [0 1]" {
		t.Fatalf("results changed: %v %v", decs(t, all.Values), decs(t, slice.Values))
	}
}

func TestList_Shrink(t *testing.T) {
	e := New(nil)
	newTestList(t, e, "l")
	for i := range 1000 {
		ok(t, e, Op{Code: OpListAppend, Table: "l", Value: enc(t, i)})
	}
	for range 990 {
		ok(t, e, Op{Code: OpListPop, Table: "l", Index: -1})
	}
	tb := e.tables["l"]
	if len(tb.list) != 10 || cap(tb.list) > 256 {
		t.Fatalf("len %d cap %d after pops", len(tb.list), cap(tb.list))
	}
	if got := fmt.Sprint(listState(t, e, "l")); got != "[0 1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("list %s", got)
	}
}
