package engine

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// Helpers shared by the tests of expiry, versions, transactions, blocking
// lists, locks and events.

// epoch is where the fake clocks of these tests start: a realistic time,
// so that deadlines are far from 0 (which means "none").
const epoch = int64(1_700_000_000) * int64(time.Second)

// newTimedEngine returns an engine whose clock stands still at epoch until
// the test advances it.
func newTimedEngine(t testing.TB) (*Engine, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	clk.ns.Store(epoch)
	e := New(nil)
	e.now = clk.now
	return e, clk
}

// at returns the Unix time in ns d after epoch.
func at(d time.Duration) int64 { return epoch + int64(d) }

// journal is a log that keeps a deep copy of every record, numbered from
// 1. It is safe for concurrent use.
type journal struct {
	mu   sync.Mutex
	recs []loggedOp
}

func (j *journal) log(op *Op, _ *Result) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	lsn := uint64(len(j.recs) + 1)
	j.recs = append(j.recs, loggedOp{deepOp(op), lsn})
	return lsn
}

// len returns the number of records.
func (j *journal) len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.recs)
}

// records returns a copy of the records.
func (j *journal) records() []loggedOp {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.recs)
}

// last returns the last record; it fails the test when there is none.
func (j *journal) last(t testing.TB) loggedOp {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.recs) == 0 {
		t.Fatal("nothing logged")
	}
	return j.recs[len(j.recs)-1]
}

// deepOp copies op with slices of its own, the operations of a
// transaction included.
func deepOp(op *Op) Op {
	c := *op
	c.Keys, c.Values = slices.Clone(op.Keys), slices.Clone(op.Values)
	if op.Ops != nil {
		c.Ops = make([]Op, len(op.Ops))
		for i := range op.Ops {
			c.Ops[i] = deepOp(&op.Ops[i])
		}
	}
	return c
}

// pubCall is one call of the publish function.
type pubCall struct {
	table string
	evs   []Event
}

// published records the calls of the publish function. It is safe for
// concurrent use.
type published struct {
	mu    sync.Mutex
	calls []pubCall
}

func (p *published) publish(table string, evs []Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, pubCall{table, slices.Clone(evs)}) // the engine reuses evs
}

// take returns the calls recorded so far and forgets them.
func (p *published) take() []pubCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = nil
	return c
}

// mustReplay replays op at lsn into e, turning a panic into a test
// failure (e is unusable afterwards: a table lock may still be held).
func mustReplay(t testing.TB, e *Engine, op Op, lsn uint64) (res Result) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("replaying LSN %d (code %d): panic: %v", lsn, op.Code, p)
		}
	}()
	res = e.Replay(&op, lsn)
	if res.Err != OK {
		t.Fatalf("replaying LSN %d (code %d): err %d %q", lsn, op.Code, res.Err, res.Msg)
	}
	return res
}

// replayAll replays every record into e, in order.
func replayAll(t testing.TB, e *Engine, recs []loggedOp) {
	t.Helper()
	for _, r := range recs {
		mustReplay(t, e, deepOp(&r.op), r.lsn)
	}
}

// diffSnapshots describes how got differs from want, comparing every
// field of every table (LSN, revision, default TTL, and each entry's
// value, version and deadline), or returns "" when they are equal.
func diffSnapshots(got, want []TableData) string {
	names := func(tds []TableData) []string {
		var ns []string
		for _, td := range tds {
			ns = append(ns, fmt.Sprintf("%q", td.Name))
		}
		return ns
	}
	if len(got) != len(want) {
		return fmt.Sprintf("tables %v, want %v", names(got), names(want))
	}
	for i := range want {
		if d := diffTable(got[i], want[i]); d != "" {
			return fmt.Sprintf("table %q: %s", want[i].Name, d)
		}
	}
	return ""
}

// diffTable is diffSnapshots for one table.
func diffTable(g, w TableData) string {
	switch {
	case g.Name != w.Name || g.Kind != w.Kind:
		return fmt.Sprintf("got %q/%v, want %q/%v", g.Name, g.Kind, w.Name, w.Kind)
	case g.LSN != w.LSN:
		return fmt.Sprintf("LSN %d, want %d", g.LSN, w.LSN)
	case g.Rev != w.Rev:
		return fmt.Sprintf("revision %d, want %d", g.Rev, w.Rev)
	case g.TTL != w.TTL:
		return fmt.Sprintf("default TTL %d, want %d", g.TTL, w.TTL)
	case !maps.EqualFunc(g.Dict, w.Dict, sameEntry):
		return "entries differ: " + diffEntries(g.Dict, w.Dict)
	case !slices.EqualFunc(g.List, w.List, bytes.Equal):
		return fmt.Sprintf("list %x, want %x", g.List, w.List)
	}
	return ""
}

// sameEntry reports whether a and b are equal in value, version and
// deadline.
func sameEntry(a, b Entry) bool { return bytes.Equal(a.V, b.V) && a.Ver == b.Ver && a.Exp == b.Exp }

// diffEntries lists the keys whose entries differ, with both entries.
func diffEntries(got, want map[string]Entry) string {
	keys := slices.Sorted(maps.Keys(got))
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if gok != wok || !sameEntry(g, w) {
			fmt.Fprintf(&b, "%q: got %s, want %s; ", k, showEntry(g, gok), showEntry(w, wok))
		}
	}
	return b.String()
}

// showEntry formats en, or "absent".
func showEntry(en Entry, ok bool) string {
	if !ok {
		return "absent"
	}
	return fmt.Sprintf("{%x ver %d exp %d}", en.V, en.Ver, en.Exp)
}

// cloneTables copies tables deeply enough for RestoreOwned to own them.
func cloneTables(tables []TableData) []TableData {
	out := make([]TableData, len(tables))
	for i, td := range tables {
		td.Dict = maps.Clone(td.Dict)
		td.List = slices.Clone(td.List)
		out[i] = td
	}
	return out
}

// tableOf returns the TableData named name in tables; it fails the test
// when there is none.
func tableOf(t testing.TB, tables []TableData, name string) TableData {
	t.Helper()
	for _, td := range tables {
		if td.Name == name {
			return td
		}
	}
	t.Fatalf("no table %q in the snapshot", name)
	return TableData{}
}

// rawEntry returns the stored entry of key in the dict name, expired or
// not, bypassing the engine's filtering.
func rawEntry(t testing.TB, e *Engine, name, key string) (Entry, bool) {
	t.Helper()
	tb := tableNamed(t, e, name)
	tb.mu.RLock()
	defer tb.mu.RUnlock()
	return tb.get(key)
}

// tableNamed returns the table name of e; it fails the test when there is
// none.
func tableNamed(t testing.TB, e *Engine, name string) *table {
	t.Helper()
	e.mu.RLock()
	tb := e.tables[name]
	e.mu.RUnlock()
	if tb == nil {
		t.Fatalf("no table %q", name)
	}
	return tb
}

// getKey reads key of the dict name.
func getKey(t testing.TB, e *Engine, name, key string) Result {
	t.Helper()
	return ok(t, e, Op{Code: OpDictGet, Table: name, Key: key})
}

// ttlLeft returns what OpDictTTL says of key in the dict name.
func ttlLeft(t testing.TB, e *Engine, name, key string) int64 {
	t.Helper()
	return ok(t, e, Op{Code: OpDictTTL, Table: name, Key: key}).Int
}

// dictLen returns OpDictLen of the dict name.
func dictLen(t testing.TB, e *Engine, name string) int64 {
	t.Helper()
	return ok(t, e, Op{Code: OpDictLen, Table: name}).Int
}

// dictKeys returns OpDictKeys of the dict name.
func dictKeys(t testing.TB, e *Engine, name string) []string {
	t.Helper()
	return ok(t, e, Op{Code: OpDictKeys, Table: name}).Keys
}

// drainWake empties the expiry wake channel and reports whether it held a
// token.
func drainWake(e *Engine) bool {
	select {
	case <-e.ExpiryWake():
		return true
	default:
		return false
	}
}

// closed reports whether ch is closed (a nil channel is not).
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
