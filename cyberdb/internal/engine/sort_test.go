package engine

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

func TestList_Sort(t *testing.T) {
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	negBig := new(big.Int).Neg(two64) // -2^64, a CBOR negative integer
	rec := func(name string, age any) map[string]any { return map[string]any{"name": name, "age": age} }
	tests := []struct {
		name    string
		in      []any
		field   string
		reverse bool
		want    string
	}{
		{name: "empty", in: nil, want: "[]"},
		{name: "ints", in: []any{3, -1, 2, 0}, want: "[-1 0 2 3]"},
		{name: "ints reverse", in: []any{3, -1, 2, 0}, reverse: true, want: "[3 2 0 -1]"},
		{name: "floats", in: []any{2.5, -1.25, math.Inf(1), math.Inf(-1)}, want: "[-Inf -1.25 2.5 +Inf]"},
		{name: "nan first", in: []any{1.0, math.NaN(), -1.0}, want: "[NaN -1 1]"},
		{name: "mixed numbers", in: []any{uint64(math.MaxUint64), 1.5, negBig, int64(9007199254740993), 9007199254740992.0, -1, 1e30},
			want: "[-18446744073709551616 -1 1.5 9.007199254740992e+15 9007199254740993 18446744073709551615 1e+30]"},
		{name: "mixed with nan", in: []any{uint64(math.MaxUint64), math.NaN(), 1}, want: "[NaN 1 18446744073709551615]"},
		{name: "strings", in: []any{"b", "B", "a", "", "ä"}, want: "[ B a b ä]"},
		{name: "bools", in: []any{true, false, true}, want: "[false true true]"},
		{name: "maps by field", field: "age",
			in:   []any{rec("a", 30), rec("b", 20), rec("c", 30), rec("d", 20)},
			want: "[map[age:20 name:b] map[age:20 name:d] map[age:30 name:a] map[age:30 name:c]]"},
		{name: "maps by field reverse stable", field: "age", reverse: true,
			in:   []any{rec("a", 30), rec("b", 20), rec("c", 30), rec("d", 20)},
			want: "[map[age:30 name:a] map[age:30 name:c] map[age:20 name:b] map[age:20 name:d]]"},
		{name: "maps by string field", field: "name", in: []any{rec("b", nil), rec("a", nil)},
			want: "[map[age:<nil> name:a] map[age:<nil> name:b]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(nil)
			newTestList(t, e, "l", tt.in...)
			ok(t, e, Op{Code: OpListSort, Table: "l", Field: tt.field, Reverse: tt.reverse})
			if got := fmt.Sprint(listState(t, e, "l")); got != tt.want {
				t.Fatalf("sorted %s, want %s", got, tt.want)
			}
		})
	}
}

func TestList_Sort_Errors(t *testing.T) {
	tests := []struct {
		name  string
		in    []any
		field string
		msg   string
	}{
		{"int and string", []any{1, "a"}, "", `cannot sort list "l": element 1 is a string but element 0 is an integer`},
		{"float and bool", []any{1.5, 2, true}, "", "element 2 is a bool but element 0 is a float"},
		{"array", []any{[]int{1}}, "", "element 0 is an array, which has no order"},
		{"null", []any{"a", nil}, "", "element 1 is null, which has no order"},
		{"bytes", []any{[]byte("x")}, "", "element 0 is a byte string, which has no order"},
		{"maps without field", []any{map[string]any{"a": 1}}, "", "element 0 is a map, which has no order"},
		{"missing field", []any{map[string]any{"a": 1}, map[string]any{"b": 1}}, "a", `cannot sort list "l" by field "a": element 1 has no such field`},
		{"not a map", []any{map[string]any{"a": 1}, 5}, "a", "element 1 is an integer, not a map"},
		{"field unordered", []any{map[string]any{"a": []int{}}}, "a", "element 0 is an array, which has no order"},
		{"field mixed", []any{map[string]any{"a": 1}, map[string]any{"a": "x"}}, "a", "element 1 is a string but element 0 is an integer"},
		{"int keys", []any{map[int]any{1: 1}}, "", "element 0 cannot be decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(nil)
			newTestList(t, e, "l", tt.in...)
			before := fmt.Sprint(ok(t, e, Op{Code: OpListAll, Table: "l"}).Values)
			wantErr(t, do(e, Op{Code: OpListSort, Table: "l", Field: tt.field}), ErrUnsortable, tt.msg)
			if after := fmt.Sprint(ok(t, e, Op{Code: OpListAll, Table: "l"}).Values); after != before {
				t.Fatal("a failed sort changed the list")
			}
		})
	}
}
