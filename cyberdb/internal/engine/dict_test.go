package engine

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/fxamacker/cbor/v2"
)

// dictState returns the content of a dict as a Go map of decoded values.
func dictState(t testing.TB, e *Engine, name string) map[string]any {
	t.Helper()
	res := ok(t, e, Op{Code: OpDictItems, Table: name})
	m := make(map[string]any, len(res.Keys))
	for i, k := range res.Keys {
		m[k] = dec(t, res.Values[i])
	}
	return m
}

func TestDict_Ops(t *testing.T) {
	base := func() map[string]any { return map[string]any{"a": int64(1), "b": "s", "c": false} }
	with := func(k string, v any) map[string]any {
		m := base()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		op    Op
		found bool
		value any // decoded res.Value, nil when absent
		key   string
		int   int64
		float float64
		after map[string]any
	}{
		{name: "get", op: Op{Code: OpDictGet, Key: "a"}, found: true, value: int64(1)},
		{name: "get falsy", op: Op{Code: OpDictGet, Key: "c"}, found: true, value: false},
		{name: "get missing", op: Op{Code: OpDictGet, Key: "z"}},
		{name: "has", op: Op{Code: OpDictHas, Key: "b"}, found: true},
		{name: "has missing", op: Op{Code: OpDictHas, Key: "z"}},
		{name: "len", op: Op{Code: OpDictLen}, int: 3},
		{name: "set new", op: Op{Code: OpDictSet, Key: "z", Value: cbor.RawMessage{0x00}}, after: with("z", int64(0))},
		{name: "set empty key", op: Op{Code: OpDictSet, Key: "", Value: cbor.RawMessage{0x00}}, after: with("", int64(0))},
		{name: "set over", op: Op{Code: OpDictSet, Key: "a", Value: cbor.RawMessage{0x60}}, after: with("a", "")},
		{name: "delete", op: Op{Code: OpDictDelete, Key: "a"}, found: true, after: with("a", nil)},
		{name: "delete missing", op: Op{Code: OpDictDelete, Key: "z"}},
		{name: "pop", op: Op{Code: OpDictPop, Key: "b"}, found: true, value: "s", after: with("b", nil)},
		{name: "pop missing", op: Op{Code: OpDictPop, Key: "z"}},
		{name: "popitem", op: Op{Code: OpDictPopItem}, found: true, key: "c", value: false, after: with("c", nil)},
		{name: "setdefault existing", op: Op{Code: OpDictSetDefault, Key: "a", Value: cbor.RawMessage{0x02}}, found: true, value: int64(1)},
		{name: "setdefault new", op: Op{Code: OpDictSetDefault, Key: "z", Value: cbor.RawMessage{0x02}}, value: int64(2), after: with("z", int64(2))},
		{name: "setnx existing", op: Op{Code: OpDictSetNX, Key: "a", Value: cbor.RawMessage{0x02}}},
		{name: "setnx new", op: Op{Code: OpDictSetNX, Key: "z", Value: cbor.RawMessage{0x02}}, found: true, after: with("z", int64(2))},
		{name: "getandset existing", op: Op{Code: OpDictGetAndSet, Key: "a", Value: cbor.RawMessage{0x02}}, found: true, value: int64(1), after: with("a", int64(2))},
		{name: "getandset new", op: Op{Code: OpDictGetAndSet, Key: "z", Value: cbor.RawMessage{0x02}}, after: with("z", int64(2))},
		{name: "cas match", op: Op{Code: OpDictCAS, Key: "a", Old: cbor.RawMessage{0x01}, Value: cbor.RawMessage{0x02}}, found: true, after: with("a", int64(2))},
		{name: "cas mismatch", op: Op{Code: OpDictCAS, Key: "a", Old: cbor.RawMessage{0x03}, Value: cbor.RawMessage{0x02}}},
		{name: "cas absent ok", op: Op{Code: OpDictCAS, Key: "z", Value: cbor.RawMessage{0x02}}, found: true, after: with("z", int64(2))},
		{name: "cas absent but present", op: Op{Code: OpDictCAS, Key: "a", Value: cbor.RawMessage{0x02}}},
		{name: "cas old on missing", op: Op{Code: OpDictCAS, Key: "z", Old: cbor.RawMessage{0x01}, Value: cbor.RawMessage{0x02}}},
		{name: "update", op: Op{Code: OpDictUpdate, Keys: []string{"a", "z", "a"}, Values: []cbor.RawMessage{{0x05}, {0x06}, {0x07}}}, after: map[string]any{"a": int64(7), "b": "s", "c": false, "z": int64(6)}},
		{name: "update empty", op: Op{Code: OpDictUpdate}},
		{name: "clear", op: Op{Code: OpDictClear}, after: map[string]any{}},
		{name: "incr", op: Op{Code: OpDictIncr, Key: "a", Delta: 41}, int: 42, after: with("a", int64(42))},
		{name: "incr new", op: Op{Code: OpDictIncr, Key: "z", Delta: -3}, int: -3, after: with("z", int64(-3))},
		{name: "incr zero", op: Op{Code: OpDictIncr, Key: "z"}, after: with("z", int64(0))},
		{name: "incrfloat int", op: Op{Code: OpDictIncrFloat, Key: "a", Float: 0.5}, float: 1.5, after: with("a", 1.5)},
		{name: "incrfloat new", op: Op{Code: OpDictIncrFloat, Key: "z", Float: -2}, float: -2, after: with("z", -2.0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(nil)
			newTestDict(t, e, "d", "a", 1, "b", "s", "c", false)
			tt.op.Table = "d"
			res := ok(t, e, tt.op)
			var value any
			if res.Value != nil {
				value = dec(t, res.Value)
			}
			got := fmt.Sprint(res.Found, value, res.Key, res.Int, res.Float)
			want := fmt.Sprint(tt.found, tt.value, tt.key, tt.int, tt.float)
			if got != want {
				t.Fatalf("result %s, want %s", got, want)
			}
			after := tt.after
			if after == nil {
				after = base()
			}
			if state := dictState(t, e, "d"); !reflect.DeepEqual(state, after) {
				t.Fatalf("dict %v, want %v", state, after)
			}
		})
	}
}

func TestDict_Errors(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "d", "s", "str", "f", 1.5, "big", new(big.Int).Lsh(big.NewInt(1), 70), "max", int64(math.MaxInt64),
		"t", true, "n", nil, "a", []int{1}, "m", map[string]int{})
	tests := []struct {
		name string
		op   Op
		code ErrCode
		msg  string
	}{
		{"set nil", Op{Code: OpDictSet, Key: "a"}, ErrInvalid, "missing value"},
		{"set empty", Op{Code: OpDictSet, Key: "a", Value: cbor.RawMessage{}}, ErrInvalid, "missing value"},
		{"set malformed", Op{Code: OpDictSet, Key: "a", Value: cbor.RawMessage{0x18}}, ErrInvalid, "not one well-formed CBOR item"},
		{"set two items", Op{Code: OpDictSet, Key: "a", Value: cbor.RawMessage{0x01, 0x02}}, ErrInvalid, "not one well-formed CBOR item"},
		{"set bad key", Op{Code: OpDictSet, Key: "\xff", Value: cbor.RawMessage{0x01}}, ErrInvalid, `key "\xff" is not valid UTF-8`},
		{"setdefault nil", Op{Code: OpDictSetDefault, Key: "a"}, ErrInvalid, "missing value"},
		{"cas nil value", Op{Code: OpDictCAS, Key: "a", Old: cbor.RawMessage{0x01}}, ErrInvalid, "missing value"},
		{"cas bad old", Op{Code: OpDictCAS, Key: "a", Old: cbor.RawMessage{0x1c}, Value: cbor.RawMessage{0x01}}, ErrInvalid, "old value is not"},
		{"update mismatch", Op{Code: OpDictUpdate, Keys: []string{"a", "b"}, Values: []cbor.RawMessage{{0x01}}}, ErrInvalid, "2 keys but 1 values"},
		{"update nil value", Op{Code: OpDictUpdate, Keys: []string{"a", "b"}, Values: []cbor.RawMessage{{0x01}, nil}}, ErrInvalid, "element 1: missing value"},
		{"incr string", Op{Code: OpDictIncr, Key: "s", Delta: 1}, ErrWrongType, `value of key "s" is a string, not an integer`},
		{"incr float", Op{Code: OpDictIncr, Key: "f", Delta: 1}, ErrWrongType, `value of key "f" is a float, not an integer`},
		{"incr overflow", Op{Code: OpDictIncr, Key: "max", Delta: 1}, ErrOverflow, "incrementing 9223372036854775807 by 1 overflows int64"},
		{"incr bool", Op{Code: OpDictIncr, Key: "t"}, ErrWrongType, `value of key "t" is a bool, not an integer`},
		{"incr null", Op{Code: OpDictIncr, Key: "n"}, ErrWrongType, `value of key "n" is null, not an integer`},
		{"incr array", Op{Code: OpDictIncr, Key: "a"}, ErrWrongType, `value of key "a" is an array, not an integer`},
		{"incrfloat map", Op{Code: OpDictIncrFloat, Key: "m"}, ErrWrongType, `value of key "m" is a map, not a number`},
		{"incr big", Op{Code: OpDictIncr, Key: "big", Delta: 1}, ErrWrongType, "is a tagged value, not an integer"},
		{"incrfloat string", Op{Code: OpDictIncrFloat, Key: "s", Float: 1}, ErrWrongType, `value of key "s" is a string, not a number`},
		{"incrfloat nan", Op{Code: OpDictIncrFloat, Key: "f", Float: math.NaN()}, ErrInvalid, "not a finite number"},
		{"incrfloat inf", Op{Code: OpDictIncrFloat, Key: "f", Float: math.Inf(-1)}, ErrInvalid, "not a finite number"},
		{"incr missing table", Op{Code: OpDictIncr, Table: "nope", Key: "a"}, ErrNoTable, `table "nope" does not exist`},
		{"empty table", Op{Code: OpDictGet, Table: "-"}, ErrInvalid, "empty table name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch tt.op.Table {
			case "":
				tt.op.Table = "d"
			case "-":
				tt.op.Table = ""
			}
			wantErr(t, do(e, tt.op), tt.code, tt.msg)
		})
	}
	if got := dictState(t, e, "d"); len(got) != 8 || got["max"] != int64(math.MaxInt64) {
		t.Fatalf("failed ops changed the dict: %v", got)
	}
}

func TestDict_Incr_Range(t *testing.T) {
	tests := []struct {
		stored any
		delta  int64
		want   int64
		code   ErrCode
	}{
		{int64(math.MinInt64), -1, 0, ErrOverflow},
		{int64(math.MinInt64), 1, math.MinInt64 + 1, OK},
		{uint64(1 << 63), -1, math.MaxInt64, OK},
		{uint64(1 << 63), 0, 0, ErrOverflow},
		{uint64(math.MaxUint64), math.MinInt64, math.MaxInt64, OK},
		{uint64(math.MaxUint64), math.MinInt64 + 1, 0, ErrOverflow},
		{new(big.Int).SetInt64(math.MinInt64).Sub(big.NewInt(math.MinInt64), big.NewInt(1)), 1, math.MinInt64, OK},
		{-1.0, 1, 0, ErrWrongType},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.stored, tt.delta), func(t *testing.T) {
			e := New(nil)
			newTestDict(t, e, "d", "k", tt.stored)
			res := do(e, Op{Code: OpDictIncr, Table: "d", Key: "k", Delta: tt.delta})
			if res.Err != tt.code || res.Int != tt.want {
				t.Fatalf("got %d (err %d %q), want %d (err %d)", res.Int, res.Err, res.Msg, tt.want, tt.code)
			}
			if tt.code == OK && dictState(t, e, "d")["k"] != tt.want {
				t.Fatalf("stored %v", dictState(t, e, "d")["k"])
			}
		})
	}
}

func TestDict_IncrFloat_Stored(t *testing.T) {
	for _, stored := range []any{float32(1.5), 2.25, int64(-7), uint64(math.MaxUint64), float64(math.MaxFloat64)} {
		t.Run(fmt.Sprint(stored), func(t *testing.T) {
			e := New(nil)
			newTestDict(t, e, "d", "k", stored)
			var f float64
			if err := ipc.DefaultCodec.Unmarshal(enc(t, stored), &f); err != nil {
				t.Fatal(err)
			}
			res := do(e, Op{Code: OpDictIncrFloat, Table: "d", Key: "k", Float: f})
			if math.IsInf(2*f, 0) {
				wantErr(t, res, ErrOverflow, "overflows float64")
				return
			}
			if res.Err != OK || res.Float != 2*f || dictState(t, e, "d")["k"] != 2*f {
				t.Fatalf("got %v (err %d %q), want %v", res.Float, res.Err, res.Msg, 2*f)
			}
		})
	}
}

// TestAppendInt checks that integers are encoded exactly as the codec
// encodes them.
func TestAppendInt(t *testing.T) {
	var ns []int64
	for _, b := range []int64{0, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxInt64} {
		ns = append(ns, b-1, b, b+1, -b-2, -b-1, -b)
	}
	ns = append(ns, math.MinInt64, math.MinInt64+1)
	for _, n := range ns {
		if got, want := appendInt(nil, n), enc(t, n); string(got) != string(want) {
			t.Fatalf("appendInt(%d) = %x, codec gives %x", n, got, want)
		}
		if got, fits, isInt := cborInt(enc(t, n)); got != n || !fits || !isInt {
			t.Fatalf("cborInt(%d) = %d %v %v", n, got, fits, isInt)
		}
	}
}

func TestDict_KeysValuesItems(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "d", "b", 2, "a", 1, "c", 3)
	keys := ok(t, e, Op{Code: OpDictKeys, Table: "d"})
	vals := ok(t, e, Op{Code: OpDictValues, Table: "d"})
	items := ok(t, e, Op{Code: OpDictItems, Table: "d"})
	if fmt.Sprint(keys.Keys, keys.Values) != "[a b c] []" {
		t.Fatalf("keys %v %v", keys.Keys, keys.Values)
	}
	if vals.Keys != nil || fmt.Sprint(decs(t, vals.Values)) != "[1 2 3]" {
		t.Fatalf("values %v %v", vals.Keys, decs(t, vals.Values))
	}
	if fmt.Sprint(items.Keys, decs(t, items.Values)) != "[a b c] [1 2 3]" {
		t.Fatalf("items %v %v", items.Keys, decs(t, items.Values))
	}
	ok(t, e, Op{Code: OpDictClear, Table: "d"})
	if res := ok(t, e, Op{Code: OpDictPopItem, Table: "d"}); res.Found || res.Value != nil {
		t.Fatalf("popitem on empty: %+v", res)
	}
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// scanAll scans a dict to the end in batches of limit and returns the keys
// and the number of batches.
func scanAll(t *testing.T, e *Engine, op Op) ([]string, int) {
	t.Helper()
	op.Code = OpDictScan
	var keys []string
	for n := 1; ; n++ {
		res := ok(t, e, op)
		if len(res.Keys) != len(res.Values) {
			t.Fatalf("%d keys, %d values", len(res.Keys), len(res.Values))
		}
		keys = append(keys, res.Keys...)
		if res.Cursor == 0 {
			return keys, n
		}
		op.Cursor = res.Cursor
	}
}

func TestDict_Scan(t *testing.T) {
	e := New(nil)
	var kv []any
	for i := range 2500 {
		kv = append(kv, fmt.Sprintf("k%04d", i), i)
	}
	newTestDict(t, e, "d", kv...)
	t.Run("default limit", func(t *testing.T) {
		keys, batches := scanAll(t, e, Op{Table: "d"})
		if len(keys) != 2500 || batches != 3 || keys[0] != "k0000" || keys[2499] != "k2499" {
			t.Fatalf("%d keys in %d batches", len(keys), batches)
		}
	})
	t.Run("one batch", func(t *testing.T) {
		_, batches := scanAll(t, e, Op{Table: "d", Limit: 1 << 40})
		if batches != 1 || len(e.cursors) != 0 {
			t.Fatalf("%d batches, %d cursors left", batches, len(e.cursors))
		}
	})
	t.Run("changes during scan", func(t *testing.T) {
		res := ok(t, e, Op{Code: OpDictScan, Table: "d", Limit: 10, Client: 3})
		ok(t, e, Op{Code: OpDictDelete, Table: "d", Key: "k0015"})
		ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "k0016", Value: enc(t, "new")})
		ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "k0011x", Value: enc(t, "added")})
		next := ok(t, e, Op{Code: OpDictScan, Table: "d", Limit: 10, Client: 3, Cursor: res.Cursor})
		if len(next.Keys) != 10 || next.Keys[5] != "k0016" || dec(t, next.Values[5]) != "new" || next.Keys[9] != "k0020" {
			t.Fatalf("batch after changes: %v", next.Keys)
		}
		ok(t, e, Op{Code: OpCloseCursor, Cursor: res.Cursor, Client: 3})
		ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "k0015", Value: enc(t, 15)})
		ok(t, e, Op{Code: OpDictDelete, Table: "d", Key: "k0011x"})
	})
	t.Run("empty", func(t *testing.T) {
		newTestDict(t, e, "empty")
		if res := ok(t, e, Op{Code: OpDictScan, Table: "empty"}); len(res.Keys) != 0 || res.Cursor != 0 {
			t.Fatalf("scan of empty dict: %+v", res)
		}
	})
	if len(e.cursors) != 0 || len(e.perClient) != 0 {
		t.Fatalf("cursors left: %d, %v", len(e.cursors), e.perClient)
	}
}

func TestDict_Scan_Errors(t *testing.T) {
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	e := New(nil)
	e.now = clock.now
	newTestDict(t, e, "d", "a", 1, "b", 2, "c", 3)
	newTestDict(t, e, "other", "a", 1)
	start := func(client uint64) uint64 {
		return ok(t, e, Op{Code: OpDictScan, Table: "d", Limit: 1, Client: client}).Cursor
	}
	t.Run("negative limit", func(t *testing.T) {
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Limit: -1}), ErrInvalid, "negative scan limit -1")
	})
	t.Run("unknown", func(t *testing.T) {
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Cursor: 12345}), ErrInvalid, "scan cursor 12345 is unknown or expired")
	})
	t.Run("other owner", func(t *testing.T) {
		c := start(1)
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 2}), ErrInvalid, "unknown or expired")
		ok(t, e, Op{Code: OpCloseCursor, Cursor: c, Client: 2})
		ok(t, e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 1})
		ok(t, e, Op{Code: OpCloseCursor, Cursor: c, Client: 1})
		ok(t, e, Op{Code: OpCloseCursor, Cursor: c, Client: 1})
	})
	t.Run("other table", func(t *testing.T) {
		c := start(1)
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "other", Cursor: c, Client: 1}), ErrInvalid, `belongs to table "d", not "other"`)
		e.ReleaseCursors(1)
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 1}), ErrInvalid, "unknown or expired")
	})
	t.Run("expired", func(t *testing.T) {
		c := start(1)
		clock.advance(cursorIdle - time.Second)
		ok(t, e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 1, Limit: 1})
		clock.advance(cursorIdle + time.Second)
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 1}), ErrInvalid, "expired: unused for more than 5m0s")
	})
	t.Run("swept", func(t *testing.T) {
		c := start(1)
		clock.advance(cursorIdle + sweepEvery)
		start(2)
		if _, open := e.cursors[c]; open {
			t.Fatal("expired cursor not swept")
		}
		e.ReleaseCursors(2)
	})
	t.Run("dropped table", func(t *testing.T) {
		c := start(1)
		ok(t, e, Op{Code: OpDropTable, Table: "other"})
		ok(t, e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 1, Limit: 1})
		ok(t, e, Op{Code: OpDropTable, Table: "d"})
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Cursor: c, Client: 1}), ErrInvalid, "unknown or expired")
		newTestDict(t, e, "d", "a", 1, "b", 2, "c", 3)
	})
	t.Run("too many", func(t *testing.T) {
		for range maxCursorsPerClient {
			start(7)
		}
		wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Limit: 1, Client: 7}), ErrInvalid, "too many open scan cursors")
		start(8)
		e.ReleaseCursors(7)
		start(7)
		e.Restore(e.Snapshot())
	})
	if len(e.cursors) != 0 || len(e.perClient) != 0 {
		t.Fatalf("cursors left: %d, %v", len(e.cursors), e.perClient)
	}
}

// TestDict_Scan_DroppedWhileOpen drops the table between lookups of an
// open cursor that the drop did not see.
func TestDict_Scan_DroppedWhileOpen(t *testing.T) {
	e := New(nil)
	newTestDict(t, e, "d", "a", 1, "b", 2)
	res := ok(t, e, Op{Code: OpDictScan, Table: "d", Limit: 1})
	c := e.cursors[res.Cursor]
	c.table.drop()
	wantErr(t, do(e, Op{Code: OpDictScan, Table: "d", Cursor: res.Cursor}), ErrNoTable, `table "d" does not exist`)
	if len(e.cursors) != 0 {
		t.Fatal("cursor of a dropped table kept")
	}
}
