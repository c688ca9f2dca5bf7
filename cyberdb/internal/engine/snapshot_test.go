package engine

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// recorder is a log that keeps every change, numbered from 1 like a
// journal: an LSN is handed out and the change appended in one step, so
// every change up to a logged LSN is in ops.
type recorder struct {
	mu  sync.Mutex
	ops []loggedOp // ops[i] has LSN i+1
}

func (r *recorder) log(op *Op, _ *Result) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, loggedOp{ownOp(op), uint64(len(r.ops) + 1)})
	return uint64(len(r.ops))
}

// len returns the number of changes logged.
func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}

// ownOp returns a copy of op with slices of its own: the engine takes
// over those of the ops it applies, and a list changes them in place.
func ownOp(op *Op) Op {
	c := *op
	c.Keys, c.Values = slices.Clone(op.Keys), slices.Clone(op.Values)
	return c
}

// replayer rebuilds the state of an engine from a recorder's log, as
// recovery does.
type replayer struct {
	e    *Engine
	ops  []loggedOp
	next int // index in ops of the first change not yet applied
}

// upTo applies the logged changes up to lsn and returns a copy of table.
func (r *replayer) upTo(t *testing.T, lsn uint64, table string) TableData {
	t.Helper()
	for ; r.next < len(r.ops) && r.ops[r.next].lsn <= lsn; r.next++ {
		op := ownOp(&r.ops[r.next].op)
		if res := r.e.Replay(&op, r.ops[r.next].lsn); res.Err != OK {
			t.Fatalf("replaying LSN %d: %s", r.ops[r.next].lsn, res.Msg)
		}
	}
	for _, td := range r.e.Snapshot() {
		if td.Name == table {
			return td
		}
	}
	t.Fatalf("table %q missing after replay to LSN %d", table, lsn)
	return TableData{}
}

// sameData reports how got differs from want, or "" when it does not.
func sameData(got, want TableData) string {
	switch {
	case got.Name != want.Name || got.Kind != want.Kind || got.LSN != want.LSN:
		return fmt.Sprintf("got %s/%d at LSN %d, want %s/%d at LSN %d", got.Name, got.Kind, got.LSN, want.Name, want.Kind, want.LSN)
	case !maps.EqualFunc(got.Dict, want.Dict, func(a, b Entry) bool { return bytes.Equal(a.V, b.V) }):
		return fmt.Sprintf("dict of %d keys, want %d keys: %v", len(got.Dict), len(want.Dict), diffKeys(got.Dict, want.Dict))
	case !slices.EqualFunc(got.List, want.List, bytes.Equal):
		return fmt.Sprintf("list of %d elements, want %d", len(got.List), len(want.List))
	}
	return ""
}

// diffKeys lists the keys whose values in a and b differ.
func diffKeys(a, b map[string]Entry) []string {
	var ks []string
	for k := range maps.Keys(a) {
		if v, ok := b[k]; !ok || !bytes.Equal(v.V, a[k].V) {
			ks = append(ks, k)
		}
	}
	for k := range maps.Keys(b) {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// writer applies random changes to the dict "d" and the list "l" until
// stop is closed.
type writer struct {
	t   *testing.T
	e   *Engine
	rng *rand.Rand
}

func (w *writer) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		op := w.op()
		var res Result
		w.e.Apply(&op, &res)
		if res.Err == ErrInvalid || res.Err == ErrNoTable {
			w.t.Errorf("op %+v: %s", op, res.Msg)
			return
		}
		// Let the snapshots run even on a single processor.
		runtime.Gosched()
	}
}

// value returns a small integer, sometimes a string.
func (w *writer) value() cbor.RawMessage {
	if w.rng.IntN(10) == 0 {
		return enc(w.t, "s")
	}
	return enc(w.t, w.rng.IntN(5))
}

// op returns a random change; some fail, such as Incr of a string.
func (w *writer) op() Op {
	op := Op{Table: "d", Key: fmt.Sprintf("k%03d", w.rng.IntN(200)), Value: w.value()}
	switch n := w.rng.IntN(1000); {
	case n < 200:
		op.Code = OpDictSet
	case n < 320:
		op.Code = OpDictDelete
	case n < 400:
		op.Code = OpDictPop
	case n < 500:
		op.Code, op.Delta = OpDictIncr, 1
	case n < 540:
		op.Code, op.Float = OpDictIncrFloat, 0.5
	case n < 600:
		op.Code = OpDictSetDefault
	case n < 660:
		op.Code, op.Old = OpDictCAS, w.value()
	case n < 700:
		op.Code = OpDictSetNX
	case n < 760:
		op.Code = OpDictGetAndSet
	case n < 820:
		op = Op{Code: OpDictUpdate, Table: "d", Keys: []string{op.Key, "k000", "k199"}, Values: []cbor.RawMessage{op.Value, w.value(), w.value()}}
	case n < 830:
		op.Code = OpDictPopItem
	case n < 831:
		op.Code = OpDictClear
	case n < 915:
		op = Op{Code: OpListAppend, Table: "l", Value: op.Value}
	default:
		op = Op{Code: OpListPop, Table: "l", Index: -1}
	}
	return op
}

// TestSnapshot_MatchesLog takes snapshots, two goroutines at a time, while
// writers change a dict and a list, with a small merge chunk so that the
// changes land while the map is frozen and while it is merged into. Each
// table copy must equal the state that the log rebuilds up to the copy's
// LSN.
func TestSnapshot_MatchesLog(t *testing.T) {
	seed := modelSeed(t)
	e := New(nil)
	rec := &recorder{}
	e.SetLog(rec.log)
	// Count the steps of snapshots during which the log grew, to make
	// sure the writers ran while tables were copied.
	var logged, during atomic.Int64
	e.snapChunk = 7
	e.snapStep = func() {
		runtime.Gosched()
		if n := int64(rec.len()); logged.Swap(n) != n {
			during.Add(1)
		}
	}
	keys, vals := make([]string, 200), make([]cbor.RawMessage, 200)
	for i := range keys {
		keys[i], vals[i] = fmt.Sprintf("k%03d", i), enc(t, i)
	}
	ok(t, e, Op{Code: OpCreateTable, Table: "d", Kind: KindDict, Keys: keys, Values: vals})
	ok(t, e, Op{Code: OpCreateTable, Table: "l", Kind: KindList, Values: slices.Clone(vals)})

	// Copy until the log has grown during enough steps.
	want := int64(1000)
	if testing.Short() {
		want = 100
	}
	deadline := time.Now().Add(30 * time.Second)
	var (
		wg, snaps sync.WaitGroup
		mu        sync.Mutex
		copies    []TableData
	)
	stop := make(chan struct{})
	for i := range 3 {
		w := &writer{t: t, e: e, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		wg.Go(func() { w.run(stop) })
	}
	for range 2 {
		snaps.Go(func() {
			for during.Load() < want && time.Now().Before(deadline) {
				tds := e.Snapshot()
				mu.Lock()
				copies = append(copies, tds...)
				mu.Unlock()
			}
		})
	}
	snaps.Wait()
	close(stop)
	wg.Wait()
	t.Logf("%d copies, %d changes logged, during %d steps", len(copies), len(rec.ops), during.Load())
	if during.Load() < want {
		t.Fatalf("the log grew during only %d steps: the writers hardly ran", during.Load())
	}
	checkCopies(t, rec.ops, copies)
}

// checkCopies compares each copy with the state the log rebuilds at its
// LSN, in LSN order.
func checkCopies(t *testing.T, log []loggedOp, copies []TableData) {
	slices.SortStableFunc(copies, func(a, b TableData) int { return cmp.Compare(a.LSN, b.LSN) })
	r := &replayer{e: New(nil), ops: log}
	for i, c := range copies {
		want := r.upTo(t, c.LSN, c.Name)
		if d := sameData(c, want); d != "" {
			t.Fatalf("copy %d of %q: %s", i, c.Name, d)
		}
	}
}

// interleaving is a snapshot of a dict "d" during which steps change the
// engine: the first runs once the map of "d" is frozen, the second once it
// is cloned, the others between the chunks of the merge of the overlay,
// one change each.
type interleaving struct {
	name  string
	steps []func(t *testing.T, e *Engine) // nil: no change at that point
	gone  bool                            // "d" is dropped: the snapshot must leave it out
}

// set returns a step that stores v under each of keys in "d".
func set(v any, keys ...string) func(*testing.T, *Engine) {
	return func(t *testing.T, e *Engine) {
		for _, k := range keys {
			ok(t, e, Op{Code: OpDictSet, Table: "d", Key: k, Value: enc(t, v)})
		}
	}
}

// apply returns a step that applies ops.
func apply(ops ...Op) func(*testing.T, *Engine) {
	return func(t *testing.T, e *Engine) {
		for _, op := range ops {
			ok(t, e, op)
		}
	}
}

// steps is a list of steps.
func steps(s ...func(*testing.T, *Engine)) []func(*testing.T, *Engine) { return s }

// testKeys are the keys of the dict "d" before each interleaving.
var testKeys = func() []string {
	ks := make([]string, 16)
	for i := range ks {
		ks[i] = fmt.Sprintf("k%02d", i)
	}
	return ks
}()

func interleavings(t *testing.T) []interleaving {
	n := func(i int) cbor.RawMessage { return enc(t, i) }
	del := func(k string) Op { return Op{Code: OpDictDelete, Table: "d", Key: k} }
	clear := Op{Code: OpDictClear, Table: "d"}
	drop := Op{Code: OpDropTable, Table: "d"}
	fresh := make([]string, 3000)
	for i := range fresh {
		fresh[i] = fmt.Sprintf("new%04d", i)
	}
	return []interleaving{
		{name: "changed", steps: steps(set("x", testKeys...), set("y", testKeys[:8]...),
			set("z", testKeys[4:12]...), set("late", "n1", "n2", "n3"), apply(del("k00"), del("k15")),
			apply(del("n1"), Op{Code: OpDictSet, Table: "d", Key: "k00", Value: n(0)}))},
		{name: "deleted and created again", steps: steps(func(t *testing.T, e *Engine) {
			for _, k := range testKeys {
				ok(t, e, del(k))
			}
			set("again", testKeys...)(t, e)
		}, apply(Op{Code: OpDictPop, Table: "d", Key: "k03"}), apply(del("k04")), set(1, "k03"))},
		// Thousands of new keys make the maps grow.
		{name: "created", steps: steps(set(1, fresh...), set(2, fresh[:10]...), apply(del(fresh[0])),
			nil, apply(Op{Code: OpDictPopItem, Table: "d"}))},
		{name: "cleared", steps: steps(apply(clear), set("x", "k00", "k15", "other"))},
		// A clear drops the overlay: no merge follows.
		{name: "cleared after clone", steps: steps(set("x", testKeys[:8]...), func(t *testing.T, e *Engine) {
			apply(del("k09"), clear)(t, e)
			set("y", testKeys...)(t, e)
		})},
		{name: "cleared while merged", steps: steps(set("x", testKeys...), nil, func(t *testing.T, e *Engine) {
			apply(clear)(t, e)
			set("y", "k01")(t, e)
		})},
		{name: "every change", steps: steps(apply(
			Op{Code: OpDictIncr, Table: "d", Key: "k02", Delta: 5},
			Op{Code: OpDictIncr, Table: "d", Key: "n", Delta: 5},
			Op{Code: OpDictIncrFloat, Table: "d", Key: "k03", Float: 0.5},
			Op{Code: OpDictCAS, Table: "d", Key: "k04", Old: n(4), Value: n(40)},
			Op{Code: OpDictCAS, Table: "d", Key: "cas", Value: n(1)},
			Op{Code: OpDictSetDefault, Table: "d", Key: "def", Value: n(1)},
			Op{Code: OpDictSetNX, Table: "d", Key: "nx", Value: n(1)},
			Op{Code: OpDictGetAndSet, Table: "d", Key: "k05", Value: n(50)},
			Op{Code: OpDictUpdate, Table: "d", Keys: []string{"k06", "upd"}, Values: []cbor.RawMessage{n(60), n(1)}},
			Op{Code: OpDictPopItem, Table: "d"},
		), apply(Op{Code: OpDictPop, Table: "d", Key: "n"}, Op{Code: OpDictIncr, Table: "d", Key: "k02", Delta: 1}),
			apply(Op{Code: OpDictPopItem, Table: "d"}), apply(Op{Code: OpDictIncr, Table: "d", Key: "k02", Delta: 1}))},
		{name: "dropped", gone: true, steps: steps(apply(drop))},
		{name: "dropped after clone", gone: true, steps: steps(nil, apply(drop))},
		{name: "dropped while merged", gone: true, steps: steps(set("x", testKeys...), nil, apply(drop))},
		{name: "dropped and created again", gone: true, steps: steps(set("x", "k00"), apply(drop,
			Op{Code: OpCreateTable, Table: "d", Kind: KindDict, Keys: []string{"k00"}, Values: []cbor.RawMessage{n(0)}}))},
		{name: "restored", gone: true, steps: steps(func(_ *testing.T, e *Engine) { e.Restore(nil) })},
	}
}

// TestSnapshot_Interleavings changes a dict during the steps of its copy:
// the copy must hold the dict as it was at the start, at the LSN of the
// start, or leave it out when it was dropped, and the engine must answer
// as one that took no snapshot.
func TestSnapshot_Interleavings(t *testing.T) {
	for _, il := range interleavings(t) {
		t.Run(il.name, func(t *testing.T) { runInterleaving(t, il) })
	}
}

// newInterleaved returns an engine with the tables of an interleaving.
func newInterleaved(t *testing.T) *Engine {
	e := New(nil)
	rec := &recorder{}
	e.SetLog(rec.log)
	// Lists around "d", which snapshots copy at once.
	newTestList(t, e, "a", 1)
	op := Op{Code: OpCreateTable, Table: "d", Kind: KindDict}
	for i, k := range testKeys {
		op.Keys, op.Values = append(op.Keys, k), append(op.Values, enc(t, i))
	}
	ok(t, e, op)
	newTestList(t, e, "l", 1)
	newTestList(t, e, "z", 1)
	return e
}

func runInterleaving(t *testing.T, il interleaving) {
	e, model := newInterleaved(t), newInterleaved(t)
	d := e.tables["d"]
	want := TableData{Name: "d", Kind: KindDict, LSN: d.lsn, Dict: maps.Clone(d.dict)}
	ran := 0
	e.snapChunk = 1
	e.snapStep = func() {
		pending := d.pending()
		if ran < len(il.steps) && il.steps[ran] != nil {
			il.steps[ran](t, e)
			il.steps[ran](t, model)
			sameLive(t, e, model)
		}
		// From the third step on, the map is merged into: changes go
		// to it, and the overlay must not grow.
		if ran >= 2 && d.pending() > pending {
			t.Fatalf("step %d: %d changes pending, %d before", ran, d.pending(), pending)
		}
		ran++
	}
	got := e.Snapshot()
	if ran < len(il.steps) {
		t.Fatalf("the snapshot took %d steps, fewer than the %d given", ran, len(il.steps))
	}
	if d.snap != nil {
		t.Fatal("the overlay outlived the snapshot")
	}
	sameLive(t, e, model)
	names := make([]string, len(got))
	for i, td := range got {
		names[i] = td.Name
		if td.Name == "d" {
			if dd := sameData(td, want); dd != "" {
				t.Fatalf("copy of d: %s", dd)
			}
		}
	}
	if slices.Contains(names, "d") == il.gone {
		t.Fatalf("snapshot holds %v", names)
	}
}

// pending returns how many changes the overlay of t holds.
func (t *table) pending() int {
	if t.snap == nil {
		return 0
	}
	return len(t.snap.newer)
}

// sameLive fails t unless e and want hold the same tables and answer the
// same to every read of the dict "d".
func sameLive(t *testing.T, e, want *Engine) {
	t.Helper()
	g, w := ok(t, e, Op{Code: OpTables}).Tables, ok(t, want, Op{Code: OpTables}).Tables
	if !slices.Equal(g, w) {
		t.Fatalf("tables %v, want %v", g, w)
	}
	if !slices.Contains(w, TableInfo{Name: "d", Kind: KindDict}) {
		return
	}
	gi, wi := ok(t, e, Op{Code: OpDictItems, Table: "d"}), ok(t, want, Op{Code: OpDictItems, Table: "d"})
	if !slices.Equal(gi.Keys, wi.Keys) || !slices.EqualFunc(gi.Values, wi.Values, sameBytes) {
		t.Fatalf("items %v, want %v", gi.Keys, wi.Keys)
	}
	if gl := ok(t, e, Op{Code: OpDictLen, Table: "d"}).Int; gl != int64(len(wi.Keys)) {
		t.Fatalf("len %d, want %d", gl, len(wi.Keys))
	}
	if keys, _ := scanAll(t, e, Op{Table: "d", Limit: 7}); !slices.Equal(keys, wi.Keys) {
		t.Fatalf("scan %v, want %v", keys, wi.Keys)
	}
	for _, k := range append(slices.Clone(testKeys), "missing", "n", "new0000") {
		g, w := ok(t, e, Op{Code: OpDictGet, Table: "d", Key: k}), ok(t, want, Op{Code: OpDictGet, Table: "d", Key: k})
		if g.Found != w.Found || !bytes.Equal(g.Value, w.Value) {
			t.Fatalf("get %s: %v %x, want %v %x", k, g.Found, g.Value, w.Found, w.Value)
		}
	}
}

func sameBytes(a, b cbor.RawMessage) bool { return bytes.Equal(a, b) }

// TestSnapshot_LiveDuringCopy applies a random change to a dict at every
// step of its snapshots, merging one change at a time, and checks each
// result, the whole content and each copy against an engine that takes no
// snapshot.
func TestSnapshot_LiveDuringCopy(t *testing.T) {
	seed := modelSeed(t)
	e, model := newInterleaved(t), newInterleaved(t)
	w := &writer{t: t, rng: rand.New(rand.NewPCG(seed, 1))}
	e.snapChunk = 1
	e.snapStep = func() {
		op := w.op()
		mop := ownOp(&op)
		got, want := do(e, op), do(model, mop)
		if fmt.Sprint(got.Err, got.Found, got.Value, got.Key, got.Int, got.Float) != fmt.Sprint(want.Err, want.Found, want.Value, want.Key, want.Int, want.Float) {
			t.Fatalf("op %+v: got %+v, want %+v", op, got, want)
		}
		sameLive(t, e, model)
	}
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	for range rounds {
		before := ok(t, model, Op{Code: OpDictItems, Table: "d"})
		for _, td := range e.Snapshot() {
			if td.Name != "d" {
				continue
			}
			keys := slices.Sorted(maps.Keys(td.Dict))
			if !slices.Equal(keys, before.Keys) || !slices.EqualFunc(before.Values, keys, func(v cbor.RawMessage, k string) bool {
				return bytes.Equal(v, td.Dict[k].V)
			}) {
				t.Fatalf("copy of d holds %v, want %v", keys, before.Keys)
			}
		}
		sameLive(t, e, model)
	}
}

// TestSnapshot_WritesAfterward checks that a snapshot leaves no overlay
// behind, so later changes go straight to the map, and that the copy does
// not change with the table.
func TestSnapshot_WritesAfterward(t *testing.T) {
	e := New(nil)
	e.snapChunk = 1
	newTestDict(t, e, "d", "a", 1, "b", 2)
	snap := e.Snapshot()
	ok(t, e, Op{Code: OpDictSet, Table: "d", Key: "a", Value: enc(t, 9)})
	ok(t, e, Op{Code: OpDictClear, Table: "d"})
	if e.tables["d"].snap != nil {
		t.Fatal("overlay left installed")
	}
	if len(snap[0].Dict) != 2 || dec(t, snap[0].Dict["a"].V) != int64(1) {
		t.Fatalf("copy changed with the table: %v", snap[0].Dict)
	}
}
