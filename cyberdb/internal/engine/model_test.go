package engine

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// modelSeed returns the seed of randomized tests: $CDB_SEED or the clock.
func modelSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CDB_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CDB_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (rerun with CDB_SEED=%d)", seed, seed)
	return seed
}

// model is the expected state of one dict and one list.
type model struct {
	t    *testing.T
	rng  *rand.Rand
	e    *Engine
	dict map[string][]byte
	list [][]byte
}

// TestModel applies random operations to an engine and to a Go map and
// slice, and compares every result and, regularly, the whole content.
func TestModel(t *testing.T) {
	seed := modelSeed(t)
	m := &model{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), e: New(nil), dict: map[string][]byte{}}
	ok(t, m.e, Op{Code: OpCreateTable, Table: "d", Kind: KindDict})
	ok(t, m.e, Op{Code: OpCreateTable, Table: "l", Kind: KindList})
	steps := 20000
	if testing.Short() {
		steps = 3000
	}
	for i := range steps {
		if m.rng.IntN(2) == 0 {
			m.dictStep(i)
		} else {
			m.listStep(i)
		}
		if i%100 == 0 {
			m.compare(i)
		}
	}
	m.compare(steps)
}

// value returns a random small value: mostly integers, sometimes strings.
func (m *model) value() cbor.RawMessage {
	if m.rng.IntN(8) == 0 {
		return enc(m.t, string(rune('a'+m.rng.IntN(4))))
	}
	return enc(m.t, m.rng.IntN(11)-5)
}

// key returns a random key from a small set.
func (m *model) key() string { return "k" + strconv.Itoa(m.rng.IntN(12)) }

// index returns a random index around the list's range.
func (m *model) index() int64 { return int64(m.rng.IntN(2*len(m.list)+5) - len(m.list) - 2) }

// check compares a result with the expected one.
func (m *model) check(step int, op Op, got, want Result) {
	m.t.Helper()
	g := fmt.Sprint(got.Err, got.Found, got.Value, got.Key, got.Keys, got.Values, got.Int, got.Float)
	w := fmt.Sprint(want.Err, want.Found, want.Value, want.Key, want.Keys, want.Values, want.Int, want.Float)
	if g != w {
		m.t.Fatalf("step %d, op %+v:\n got %s (%s)\nwant %s", step, op, g, got.Msg, w)
	}
}

// dictStep applies one random dict operation.
func (m *model) dictStep(step int) {
	op := Op{Table: "d", Key: m.key(), Value: m.value()}
	var want Result
	cur, has := m.dict[op.Key]
	switch m.rng.IntN(9) {
	case 0:
		op.Code, want.Found, want.Value = OpDictGet, has, cur
	case 1:
		op.Code = OpDictSet
		m.dict[op.Key] = op.Value
	case 2:
		op.Code, want.Found, want.Value = OpDictPop, has, cur
		delete(m.dict, op.Key)
	case 3:
		op.Code, want.Found, want.Value = OpDictSetDefault, has, cur
		if !has {
			m.dict[op.Key], want.Value = op.Value, op.Value
		}
	case 4:
		op.Code, op.Old = OpDictCAS, m.value()
		if m.rng.IntN(3) == 0 {
			op.Old = nil
		}
		if want.Found = casMatches(op.Old, cur, has); want.Found {
			m.dict[op.Key] = op.Value
		}
	case 5:
		op.Code, op.Delta = OpDictIncr, int64(m.rng.IntN(7)-3)
		want = m.incr(op, cur, has)
	case 6:
		op.Code, want.Int = OpDictLen, int64(len(m.dict))
	case 7:
		op.Code, want = OpDictPopItem, m.popItem()
	default:
		op.Code, want.Found, want.Value = OpDictGetAndSet, has, cur
		m.dict[op.Key] = op.Value
	}
	m.check(step, op, do(m.e, op), want)
}

// incr is the model of OpDictIncr.
func (m *model) incr(op Op, cur []byte, has bool) Result {
	var n int64
	if has {
		v := dec(m.t, cur)
		i, isInt := v.(int64)
		if !isInt {
			return Result{Err: ErrWrongType}
		}
		n = i
	}
	m.dict[op.Key] = enc(m.t, n+op.Delta)
	return Result{Int: n + op.Delta}
}

// popItem is the model of OpDictPopItem.
func (m *model) popItem() Result {
	if len(m.dict) == 0 {
		return Result{}
	}
	var keys []string
	for k := range m.dict {
		keys = append(keys, k)
	}
	k := slices.Max(keys)
	res := Result{Found: true, Key: k, Value: m.dict[k]}
	delete(m.dict, k)
	return res
}

// listStep applies one random list operation.
func (m *model) listStep(step int) {
	op := Op{Table: "l", Index: m.index(), Stop: m.index(), Value: m.value()}
	n := len(m.list)
	var want Result
	switch m.rng.IntN(12) {
	case 0:
		op.Code = OpListGet
		want = m.at(op.Index)
	case 1:
		op.Code = OpListAppend
		m.list = append(m.list, op.Value)
		want.Int = int64(len(m.list))
	case 2:
		op.Code = OpListInsert
		i := clampModel(op.Index, n)
		m.list = append(m.list[:i], append([][]byte{op.Value}, m.list[i:]...)...)
	case 3:
		op.Code = OpListPop
		want = m.at(op.Index)
		if want.Err == OK {
			m.list = slices.Delete(m.list, int(fixModel(op.Index, n)), int(fixModel(op.Index, n))+1)
		}
	case 4:
		op.Code = OpListSlice
		i, j := clampModel(op.Index, n), max(clampModel(op.Index, n), clampModel(op.Stop, n))
		want.Values = toRaw(m.list[i:j])
	case 5:
		op.Code, op.Values = OpListSetSlice, []cbor.RawMessage{m.value(), m.value()}[:m.rng.IntN(3)]
		i, j := clampModel(op.Index, n), max(clampModel(op.Index, n), clampModel(op.Stop, n))
		m.list = slices.Concat(m.list[:i], toBytes(op.Values), m.list[j:])
	case 6:
		op.Code = OpListDeleteSlice
		i, j := clampModel(op.Index, n), max(clampModel(op.Index, n), clampModel(op.Stop, n))
		m.list = slices.Concat(m.list[:i], m.list[j:])
	case 7:
		op.Code = OpListRemove
		want = m.removeModel(op.Value)
	case 8:
		op.Code = OpListCount
		for _, v := range m.list {
			if bytes.Equal(v, op.Value) {
				want.Int++
			}
		}
	case 9:
		op.Code = OpListSet
		want = m.at(op.Index)
		want.Value = nil
		if want.Err == OK {
			m.list[fixModel(op.Index, n)] = op.Value
		}
	case 10:
		op.Code, op.Reverse = OpListSort, m.rng.IntN(2) == 0
		want = m.sortModel(op.Reverse)
	default:
		op.Code = OpListReverse
		slices.Reverse(m.list)
	}
	m.check(step, op, do(m.e, op), want)
}

// fixModel resolves a Python index, or returns -1 when out of range.
func fixModel(i int64, n int) int64 {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return -1
	}
	return i
}

// clampModel resolves a Python slice bound.
func clampModel(i int64, n int) int {
	if i < 0 {
		i += int64(n)
	}
	return int(min(max(i, 0), int64(n)))
}

// at is the model of reading index i.
func (m *model) at(i int64) Result {
	if fixModel(i, len(m.list)) < 0 {
		return Result{Err: ErrIndex}
	}
	return Result{Value: m.list[fixModel(i, len(m.list))]}
}

// removeModel is the model of OpListRemove.
func (m *model) removeModel(v []byte) Result {
	for i, x := range m.list {
		if bytes.Equal(x, v) {
			m.list = slices.Delete(m.list, i, i+1)
			return Result{}
		}
	}
	return Result{Err: ErrNotFound}
}

// sortModel is the model of OpListSort over ints and strings.
func (m *model) sortModel(reverse bool) Result {
	kinds := map[string]bool{}
	for _, v := range m.list {
		kinds[fmt.Sprintf("%T", dec(m.t, v))] = true
	}
	if len(kinds) > 1 {
		return Result{Err: ErrUnsortable}
	}
	slices.SortStableFunc(m.list, func(a, b []byte) int {
		c := compareModel(dec(m.t, a), dec(m.t, b))
		if reverse {
			return -c
		}
		return c
	})
	return Result{}
}

// compareModel compares two int64 or two string values.
func compareModel(a, b any) int {
	if x, ok := a.(int64); ok {
		return int(min(max(x-b.(int64), -1), 1))
	}
	return bytes.Compare([]byte(a.(string)), []byte(b.(string)))
}

// compare checks the whole content of both tables.
func (m *model) compare(step int) {
	m.t.Helper()
	got := ok(m.t, m.e, Op{Code: OpListAll, Table: "l"})
	m.check(step, Op{Code: OpListAll}, Result{Values: got.Values}, Result{Values: toRaw(m.list)})
	items := ok(m.t, m.e, Op{Code: OpDictItems, Table: "d"})
	want := Result{}
	for _, k := range slices.Sorted(maps.Keys(m.dict)) {
		want.Keys = append(want.Keys, k)
		want.Values = append(want.Values, m.dict[k])
	}
	m.check(step, Op{Code: OpDictItems}, items, want)
}

// toRaw converts values to the Result field type.
func toRaw(vs [][]byte) []cbor.RawMessage {
	out := make([]cbor.RawMessage, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// toBytes converts values from the Op field type.
func toBytes(vs []cbor.RawMessage) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
