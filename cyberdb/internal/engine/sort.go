package engine

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// listSort sorts a list stably by the decoded values, or by their field
// op.Field when they are maps. The table stays locked while its values are
// decoded, so sorting a long list delays other users of that table.
func (e *Engine) listSort(op *Op, res *Result) {
	t := e.write(op, KindList, res)
	if t == nil {
		return
	}
	if keys := e.sortKeys(t, op.Field, res); keys != nil {
		sortByKeys(t.list, keys, op.Reverse)
	}
	e.done(t, op, res)
}

// keyKind classifies a sort key.
type keyKind uint8

const (
	keyInt keyKind = iota + 1
	keyFloat
	keyBig
	keyString
	keyBool
)

// sortKey is the comparable form of one decoded element.
type sortKey struct {
	kind  keyKind
	b     bool
	i     int64
	f     float64
	s     string
	big   *big.Int
	exact *big.Float // the exact number, when a list mixes number kinds
}

// group returns the kinds that compare with each other: all numbers are
// one group.
func (k keyKind) group() keyKind {
	if k == keyFloat || k == keyBig {
		return keyInt
	}
	return k
}

// sortKeys decodes the elements of t into sort keys, or returns nil after
// recording why they cannot be sorted.
func (e *Engine) sortKeys(t *table, field string, res *Result) []sortKey {
	keys := make([]sortKey, len(t.list))
	first, mixed := "", false
	for i, v := range t.list {
		name, why := e.sortKey(v, field, &keys[i])
		if why != "" {
			unsortable(res, t.name, field, fmt.Sprintf("element %d %s", i, why))
			return nil
		}
		if i == 0 {
			first = name
		}
		if keys[i].kind.group() != keys[0].kind.group() {
			unsortable(res, t.name, field, fmt.Sprintf("element %d is %s but element 0 is %s", i, name, first))
			return nil
		}
		mixed = mixed || keys[i].kind != keys[0].kind
	}
	if mixed {
		exactNumbers(keys)
	}
	return keys
}

// unsortable records ErrUnsortable for list name sorted by field.
func unsortable(res *Result, name, field, why string) {
	if field != "" {
		fail(res, ErrUnsortable, "cannot sort list %q by field %q: %s", name, field, why)
		return
	}
	fail(res, ErrUnsortable, "cannot sort list %q: %s", name, why)
}

// sortKey decodes v into k, returning the kind name of the key, or a
// reason why v has no sort key.
func (e *Engine) sortKey(v []byte, field string, k *sortKey) (name, why string) {
	var x any
	if uerr := e.codec.Unmarshal(v, &x); uerr != nil {
		return "", fmt.Sprintf("cannot be decoded: %v", uerr)
	}
	if field != "" {
		m, ok := x.(map[string]any)
		if !ok {
			return "", fmt.Sprintf("is %s, not a map", kindName(x))
		}
		if x, ok = m[field]; !ok {
			return "", "has no such field"
		}
	}
	name = kindName(x)
	if !k.set(x) {
		return "", fmt.Sprintf("is %s, which has no order", name)
	}
	return name, ""
}

// set fills k from the decoded value x and reports whether x is ordered.
func (k *sortKey) set(x any) bool {
	switch x := x.(type) {
	case int64:
		k.kind, k.i = keyInt, x
	case float64:
		k.kind, k.f = keyFloat, x
	case big.Int:
		k.kind, k.big = keyBig, &x
	case *big.Int:
		k.kind, k.big = keyBig, x
	case string:
		k.kind, k.s = keyString, x
	case bool:
		k.kind, k.b = keyBool, x
	default:
		return false
	}
	return true
}

// kindName names the type of a decoded value, for messages.
func kindName(x any) string {
	switch x.(type) {
	case int64, big.Int, *big.Int:
		return "an integer"
	case float64:
		return "a float"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case map[string]any:
		return "a map"
	case []any:
		return "an array"
	case []byte:
		return "a byte string"
	case nil:
		return "null"
	}
	return fmt.Sprintf("a %T", x)
}

// exactNumbers gives every number key its exact value, so that integers of
// any size and floats compare correctly. NaN keeps no exact value.
func exactNumbers(keys []sortKey) {
	for i := range keys {
		k := &keys[i]
		switch k.kind {
		case keyInt:
			k.exact = new(big.Float).SetInt64(k.i)
		case keyBig:
			k.exact = new(big.Float).SetInt(k.big)
		case keyFloat:
			if !math.IsNaN(k.f) {
				k.exact = new(big.Float).SetFloat64(k.f)
			}
		}
	}
}

// compare orders two keys of the same group; NaN sorts before every other
// number.
func (k *sortKey) compare(o *sortKey) int {
	switch {
	case k.kind == keyString:
		return strings.Compare(k.s, o.s)
	case k.kind == keyBool:
		return cmpBool(k.b, o.b)
	case k.kind == keyInt && o.kind == keyInt:
		return cmp.Compare(k.i, o.i)
	case k.kind == keyFloat && o.kind == keyFloat:
		return cmp.Compare(k.f, o.f)
	case k.kind == keyBig && o.kind == keyBig:
		return k.big.Cmp(o.big)
	}
	return cmpExact(k.exact, o.exact)
}

// cmpExact compares exact numbers, nil (NaN) first.
func cmpExact(a, b *big.Float) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return a.Cmp(b)
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// sortByKeys reorders l stably by keys, descending when reverse.
func sortByKeys(l []cbor.RawMessage, keys []sortKey, reverse bool) {
	perm := make([]int, len(l))
	for i := range perm {
		perm[i] = i
	}
	sign := 1
	if reverse {
		sign = -1
	}
	slices.SortStableFunc(perm, func(a, b int) int {
		return sign * keys[a].compare(&keys[b])
	})
	sorted := make([]cbor.RawMessage, len(l))
	for i, p := range perm {
		sorted[i] = l[p]
	}
	copy(l, sorted)
}
