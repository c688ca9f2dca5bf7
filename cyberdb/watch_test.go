package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// eventWait bounds the wait for an event that is due.
const eventWait = 5 * time.Second

// watchItem is one pair a watch yielded.
type watchItem struct {
	ev  cyberdb.Event
	err error
}

// watcher runs a watch in a goroutine and hands over what it yields.
type watcher struct {
	items  chan watchItem // closed when the iteration ends
	cancel context.CancelFunc
}

// startWatch watches table of db under a context derived from ctx, until
// the test ends or cancel is called.
func startWatch(t *testing.T, db *cyberdb.DB, table string, opts *cyberdb.WatchOptions) *watcher {
	t.Helper()
	return startWatchCtx(t, testCtx(t), db, table, opts)
}

// startWatchCtx is startWatch under ctx.
func startWatchCtx(t *testing.T, ctx context.Context, db *cyberdb.DB, table string, opts *cyberdb.WatchOptions) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{items: make(chan watchItem, 4096), cancel: cancel}
	stop := make(chan struct{})
	go func() {
		defer close(w.items)
		for ev, err := range db.Watch(ctx, table, opts) {
			select {
			case w.items <- watchItem{ev, err}:
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		close(stop)
		for range w.items {
		}
	})
	return w
}

// item returns the next pair the watch yields, failing the test if none
// comes in time or the iteration ends.
func (w *watcher) item(t *testing.T) watchItem {
	t.Helper()
	select {
	case it, ok := <-w.items:
		if !ok {
			t.Fatal("the watch ended")
		}
		return it
	case <-time.After(eventWait):
		t.Fatalf("no event within %v", eventWait)
	}
	panic("unreachable")
}

// next returns the next event, failing the test on an error.
func (w *watcher) next(t *testing.T) cyberdb.Event {
	t.Helper()
	it := w.item(t)
	if it.err != nil {
		t.Fatalf("watch: %v", it.err)
	}
	return it.ev
}

// ended waits for the iteration to end, failing the test if it yields
// anything more.
func (w *watcher) ended(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case it, ok := <-w.items:
		if ok {
			t.Fatalf("watch yielded %+v, %v after its end", it.ev, it.err)
		}
	case <-time.After(within):
		t.Fatalf("the watch did not end within %v", within)
	}
}

// syncDict makes sure that a watch from 0 of d has started: it sets key
// to 0, 1, ... until w reports one, then to -1, and skips the events up
// to that one, failing the test on any event of another key. Every change
// after syncDict returns reaches w.
func (w *watcher) syncDict(t *testing.T, d *cyberdb.Dict, key string) {
	t.Helper()
	ctx := testCtx(t)
	isProbe := func(it watchItem) int {
		t.Helper()
		if it.err != nil || it.ev.Type != cyberdb.EventSet || it.ev.Key != key {
			t.Fatalf("while waiting for the watch to start: %+v, %v", it.ev, it.err)
		}
		var i int
		must(t, it.ev.Value.Decode(&i))
		return i
	}
	for i := 0; ; i++ {
		if i == 500 {
			t.Fatal("the watch did not start")
		}
		must(t, d.Set(ctx, key, i))
		select {
		case it, ok := <-w.items:
			if !ok {
				t.Fatal("the watch ended")
			}
			isProbe(it)
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	must(t, d.Set(ctx, key, -1))
	for isProbe(w.item(t)) != -1 {
	}
}

// dictAnchor returns a revision of d to watch from, made by a transaction
// that leaves d as it was.
func dictAnchor(t *testing.T, db *cyberdb.DB, d *cyberdb.Dict) uint64 {
	t.Helper()
	tx := db.Txn()
	set := tx.Set(d, "\x7fanchor", true)
	tx.Delete(d, "\x7fanchor")
	must(t, tx.Commit(testCtx(t)))
	if set.Version() == 0 {
		t.Fatal("a Set in a transaction reports version 0")
	}
	return set.Version()
}

// listAnchor returns a revision of the lists ls to watch from, made by a
// transaction that leaves them as they were; scratch is a dict it writes
// to read the revision.
func listAnchor(t *testing.T, db *cyberdb.DB, scratch *cyberdb.Dict, ls ...*cyberdb.List) uint64 {
	t.Helper()
	tx := db.Txn()
	set := tx.Set(scratch, "anchor", true)
	for _, l := range ls {
		tx.Append(l, "anchor")
		tx.Pop(l, -1)
	}
	must(t, tx.Commit(testCtx(t)))
	return set.Version()
}

// valueString renders a value for comparison: "<none>" when empty.
func valueString(v cyberdb.Value) string {
	if len(v.Bytes()) == 0 {
		return "<none>"
	}
	x, err := v.Any()
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return fmt.Sprint(x)
}

// wantString renders an expected value like valueString: nil is none.
func wantString(v any) string {
	if v == nil {
		return "<none>"
	}
	return fmt.Sprint(v)
}

// wantEvent checks an event's type, key, value and old value (nil: none).
func wantEvent(t *testing.T, ev cyberdb.Event, typ cyberdb.EventType, key string, value, old any) {
	t.Helper()
	if ev.Type != typ || ev.Key != key || valueString(ev.Value) != wantString(value) || valueString(ev.Old) != wantString(old) {
		t.Fatalf("event %v %q value %s old %s (rev %d); want %v %q value %s old %s",
			ev.Type, ev.Key, valueString(ev.Value), valueString(ev.Old), ev.Rev, typ, key, wantString(value), wantString(old))
	}
}

// wantListEvent checks a list event's operation and value (nil: none).
func wantListEvent(t *testing.T, ev cyberdb.Event, op string, value any) {
	t.Helper()
	if ev.Type != cyberdb.EventList || ev.Op != op || valueString(ev.Value) != wantString(value) {
		t.Fatalf("event %v op %q value %s; want list op %q value %s", ev.Type, ev.Op, valueString(ev.Value), op, wantString(value))
	}
}

// revs checks that each event's revision is above the previous one's.
type revs struct{ last uint64 }

func (r *revs) next(t *testing.T, ev cyberdb.Event) {
	t.Helper()
	if ev.Rev <= r.last {
		t.Fatalf("event %v %q has revision %d, not after %d", ev.Type, ev.Key, ev.Rev, r.last)
	}
	r.last = ev.Rev
}

func TestWatch_EventTypeNames(t *testing.T) {
	want := map[cyberdb.EventType]string{
		cyberdb.EventSet: "set", cyberdb.EventDelete: "delete", cyberdb.EventExpire: "expire",
		cyberdb.EventClear: "clear", cyberdb.EventDrop: "drop", cyberdb.EventList: "list", cyberdb.EventCreate: "create",
	}
	for typ, name := range want {
		if typ.String() != name {
			t.Errorf("EventType %d String = %q, want %q", typ, typ.String(), name)
		}
	}
}

func TestWatch_DictEventsInOrder(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		w := startWatch(t, db, "d", &cyberdb.WatchOptions{From: from})
		r := revs{last: from}
		next := func(typ cyberdb.EventType, key string, value, old any) cyberdb.Event {
			t.Helper()
			ev := w.next(t)
			wantEvent(t, ev, typ, key, value, old)
			r.next(t, ev)
			if ev.Table != "d" {
				t.Fatalf("event of table %q, want d", ev.Table)
			}
			return ev
		}

		must(t, d.Set(ctx, "a", 1))
		must(t, d.Set(ctx, "a", 2))
		_, err = d.Incr(ctx, "n", 5)
		must(t, err)
		_, err = d.Delete(ctx, "a")
		must(t, err)
		_, err = d.Delete(ctx, "missing") // changes nothing: no event
		must(t, err)
		must(t, d.SetTTL(ctx, "e", "x", shortTTL))
		next(cyberdb.EventSet, "a", 1, nil)
		next(cyberdb.EventSet, "a", 2, 1)
		next(cyberdb.EventSet, "n", 5, nil)
		next(cyberdb.EventDelete, "a", nil, 2)
		next(cyberdb.EventSet, "e", "x", nil)
		next(cyberdb.EventExpire, "e", nil, "x")

		must(t, d.Clear(ctx))
		next(cyberdb.EventClear, "", nil, nil)
		must(t, db.DropTable(ctx, "d"))
		next(cyberdb.EventDrop, "", nil, nil)
		// The history of a name outlives its table: a watch sees it again.
		d, err = db.CreateDict(ctx, "d")
		must(t, err)
		next(cyberdb.EventCreate, "", nil, nil)
		must(t, d.Set(ctx, "b", "again"))
		next(cyberdb.EventSet, "b", "again", nil)
	})
}

func TestWatch_ListEvents(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		scratch, err := db.CreateDict(ctx, "scratch")
		must(t, err)
		l, err := db.CreateList(ctx, "l")
		must(t, err)
		other, err := db.CreateList(ctx, "other")
		must(t, err)
		from := listAnchor(t, db, scratch, l, other)
		w := startWatch(t, db, "l", &cyberdb.WatchOptions{From: from})
		wo := startWatch(t, db, "other", &cyberdb.WatchOptions{From: from})
		r := revs{last: from}
		next := func(op string, value any) cyberdb.Event {
			t.Helper()
			ev := w.next(t)
			wantListEvent(t, ev, op, value)
			r.next(t, ev)
			return ev
		}

		must(t, l.Append(ctx, "a"))
		next("append", "a")
		must(t, l.Extend(ctx, []string{"b", "c"}))
		ev := next("extend", nil)
		if len(ev.Values) != 2 || valueString(ev.Values[0]) != "b" || valueString(ev.Values[1]) != "c" {
			t.Fatalf("extend event values %v, want [b c]", ev.Values)
		}
		must(t, l.Insert(ctx, 0, "z"))
		next("insert", "z")
		must(t, l.Set(ctx, 1, "y")) // [z y b c]
		next("set", "y")
		must(t, l.Pop(ctx, -1, nil)) // [z y b]
		next("pop", "c")
		must(t, l.Remove(ctx, "y")) // [z b]
		next("remove", "y")
		must(t, l.Reverse(ctx)) // [b z]
		next("reverse", nil)
		ok, err := l.Move(ctx, other, cyberdb.Front, cyberdb.Back, nil) // [z]
		if err != nil || !ok {
			t.Fatalf("Move = %v, %v", ok, err)
		}
		moved := next("pop", "b")
		ev = wo.next(t)
		wantListEvent(t, ev, "move", "b")
		if ev.Rev != moved.Rev || ev.Table != "other" {
			t.Fatalf("move event of %q at revision %d; want other at %d, the revision of the pop", ev.Table, ev.Rev, moved.Rev)
		}
		must(t, l.PopWait(ctx, cyberdb.Back, nil))
		next("pop", "z")
		must(t, l.Append(ctx, "q"))
		next("append", "q")
		must(t, l.Clear(ctx))
		ev = w.next(t)
		if ev.Type != cyberdb.EventClear {
			t.Fatalf("Clear gave event %v %q, want clear", ev.Type, ev.Op)
		}
		r.next(t, ev)
	})
}

func TestWatch_KeyAndPrefixFilters(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		exact := startWatch(t, db, "d", &cyberdb.WatchOptions{Key: "a", From: from})
		prefix := startWatch(t, db, "d", &cyberdb.WatchOptions{Key: "user/", Prefix: true, From: from})

		for _, k := range []string{"a", "ab", "b", "user/1", "usr", "user/2", "user", "xa"} {
			must(t, d.Set(ctx, k, k))
		}
		_, err = d.Delete(ctx, "a")
		must(t, err)
		_, err = d.Delete(ctx, "user/1")
		must(t, err)
		must(t, d.Clear(ctx))
		must(t, d.Set(ctx, "a", "end"))
		must(t, d.Set(ctx, "user/end", "end"))

		wantEvent(t, exact.next(t), cyberdb.EventSet, "a", "a", nil)
		wantEvent(t, exact.next(t), cyberdb.EventDelete, "a", nil, "a")
		wantEvent(t, exact.next(t), cyberdb.EventClear, "", nil, nil)
		wantEvent(t, exact.next(t), cyberdb.EventSet, "a", "end", nil)

		wantEvent(t, prefix.next(t), cyberdb.EventSet, "user/1", "user/1", nil)
		wantEvent(t, prefix.next(t), cyberdb.EventSet, "user/2", "user/2", nil)
		wantEvent(t, prefix.next(t), cyberdb.EventDelete, "user/1", nil, "user/1")
		wantEvent(t, prefix.next(t), cyberdb.EventClear, "", nil, nil)
		wantEvent(t, prefix.next(t), cyberdb.EventSet, "user/end", "end", nil)
	})
}

func TestWatch_ResumeFrom(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		for i := 1; i <= 5; i++ {
			must(t, d.Set(ctx, "k", i))
		}
		var last cyberdb.Event
		seen := 0
		for ev, err := range db.Watch(ctx, "d", &cyberdb.WatchOptions{From: from}) {
			must(t, err)
			seen++
			wantEvent(t, ev, cyberdb.EventSet, "k", seen, wantOld(seen))
			last = ev
			if seen == 3 {
				break
			}
		}
		for i := 6; i <= 10; i++ {
			must(t, d.Set(ctx, "k", i))
		}
		// Resume after the last event seen: exactly the missed ones follow.
		w := startWatch(t, db, "d", &cyberdb.WatchOptions{From: last.Rev})
		r := revs{last: last.Rev}
		for i := 4; i <= 10; i++ {
			ev := w.next(t)
			wantEvent(t, ev, cyberdb.EventSet, "k", i, i-1)
			r.next(t, ev)
		}
		must(t, d.Set(ctx, "k", "after"))
		wantEvent(t, w.next(t), cyberdb.EventSet, "k", "after", 10)

	})
}

// wantOld is the old value of the i-th Set of a key set to 1, 2, ...
func wantOld(i int) any {
	if i == 1 {
		return nil
	}
	return i - 1
}

func TestWatch_ResumeWithKeyFilter(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		must(t, d.Set(ctx, "a", 1))
		must(t, d.Set(ctx, "b", 1))
		var last cyberdb.Event
		for ev, err := range db.Watch(ctx, "d", &cyberdb.WatchOptions{Key: "a", From: from}) {
			must(t, err)
			last = ev
			break
		}
		wantEvent(t, last, cyberdb.EventSet, "a", 1, nil)
		for i := 2; i <= 4; i++ {
			must(t, d.Set(ctx, "b", i))
			must(t, d.Set(ctx, "a", i))
		}
		w := startWatch(t, db, "d", &cyberdb.WatchOptions{Key: "a", From: last.Rev})
		for i := 2; i <= 4; i++ {
			wantEvent(t, w.next(t), cyberdb.EventSet, "a", i, i-1)
		}
		must(t, d.Set(ctx, "b", "end"))
		must(t, d.Set(ctx, "a", "end"))
		wantEvent(t, w.next(t), cyberdb.EventSet, "a", "end", 4)
	})
}

func TestWatch_FromZeroSeesOnlyNewChanges(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		for i := range 3 {
			must(t, d.Set(ctx, "old", i))
		}
		w := startWatch(t, db, "d", nil)
		w.syncDict(t, d, "probe") // fails on any event of "old"
		must(t, d.Set(ctx, "new", 1))
		wantEvent(t, w.next(t), cyberdb.EventSet, "new", 1, nil)
	})
}

func TestWatch_TransactionSharesRevision(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d", map[string]any{"s": "str"})
		must(t, err)
		from := dictAnchor(t, db, d)
		w := startWatch(t, db, "d", &cyberdb.WatchOptions{From: from})

		tx := db.Txn()
		tx.Set(d, "a", 1)
		tx.Set(d, "b", 2)
		tx.Incr(d, "c", 3)
		must(t, tx.Commit(ctx))
		// A transaction that fails publishes nothing.
		tx.Set(d, "x", 1)
		tx.Incr(d, "s", 1)
		if err := tx.Commit(ctx); err == nil {
			t.Fatal("Incr of a string committed")
		}
		must(t, d.Set(ctx, "after", true))

		a, b, c := w.next(t), w.next(t), w.next(t)
		wantEvent(t, a, cyberdb.EventSet, "a", 1, nil)
		wantEvent(t, b, cyberdb.EventSet, "b", 2, nil)
		wantEvent(t, c, cyberdb.EventSet, "c", 3, nil)
		if a.Rev != b.Rev || b.Rev != c.Rev {
			t.Fatalf("revisions of one transaction: %d %d %d", a.Rev, b.Rev, c.Rev)
		}
		after := w.next(t)
		wantEvent(t, after, cyberdb.EventSet, "after", true, nil)
		if after.Rev <= c.Rev {
			t.Fatalf("revision %d after the transaction's %d", after.Rev, c.Rev)
		}
	})
}

func TestWatch_CancelEndsIteration(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		w := startWatch(t, db, "d", nil)
		w.syncDict(t, d, "probe") // the watch now waits on the leader
		start := time.Now()
		w.cancel()
		it := w.item(t)
		if !errors.Is(it.err, context.Canceled) {
			t.Fatalf("canceled watch yielded %+v, %v; want context.Canceled", it.ev, it.err)
		}
		w.ended(t, time.Second)
		if el := time.Since(start); el > time.Second {
			t.Fatalf("the canceled watch took %v to end", el)
		}
	})
}

// watchEnd runs a watch of table under ctx until it ends and returns the
// pairs it yielded; ok is false if it had not ended after two seconds.
func watchEnd(t *testing.T, ctx context.Context, db *cyberdb.DB, table string) (errs []error, ok bool) {
	t.Helper()
	done := make(chan []error, 1)
	go func() {
		var errs []error
		for _, err := range db.Watch(ctx, table, nil) {
			errs = append(errs, err)
		}
		done <- errs
	}()
	select {
	case errs := <-done:
		return errs, true
	case <-time.After(2 * time.Second):
		// The watch goes on until the DB closes at cleanup.
		return nil, false
	}
}

func TestWatch_DeadlineEndsIteration(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, err := db.CreateDict(ctx, "d")
		must(t, err)
		tctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		errs, ok := watchEnd(t, tctx, db, "d")
		if !ok {
			t.Fatal("the watch did not end with its context")
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
			t.Fatalf("watch past its deadline yielded %v, want one context.DeadlineExceeded", errs)
		}
		if el := time.Since(start); el < 100*time.Millisecond || el > 2*time.Second {
			t.Fatalf("watch with a 150ms deadline ended after %v", el)
		}
	})
}

func TestWatch_EndedContext(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, err := db.CreateDict(ctx, "d")
		must(t, err)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel2()
		for name, c := range map[string]struct {
			ctx    context.Context
			target error
		}{"canceled": {canceled, context.Canceled}, "expired": {expired, context.DeadlineExceeded}} {
			errs, ok := watchEnd(t, c.ctx, db, "d")
			if !ok {
				t.Fatalf("the watch under a %s context did not end", name)
			}
			if len(errs) != 1 || !errors.Is(errs[0], c.target) {
				t.Fatalf("watch under a %s context yielded %v, want one %v", name, errs, c.target)
			}
		}
	})
}

func TestWatch_MissingTable(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, err := db.CreateDict(ctx, "dropped")
		must(t, err)
		must(t, db.DropTable(ctx, "dropped"))
		for _, name := range []string{"nope", "dropped"} {
			n := 0
			for _, err := range db.Watch(ctx, name, nil) {
				n++
				if !errors.Is(err, cyberdb.ErrNoTable) {
					t.Fatalf("watch of %q yielded %v, want ErrNoTable", name, err)
				}
			}
			if n != 1 {
				t.Fatalf("watch of %q yielded %d pairs, want the one error", name, n)
			}
		}
	})
}

func TestWatch_RevisionNotInHistory(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		for _, err := range db.Watch(ctx, "d", &cyberdb.WatchOptions{From: from + 1<<30}) {
			if !errors.Is(err, cyberdb.ErrRevisionLost) {
				t.Fatalf("watch from a future revision yielded %v, want ErrRevisionLost", err)
			}
		}
	})
}

// fillHistory writes n events to d with n/1000 SetMany calls.
func fillHistory(t *testing.T, d *cyberdb.Dict, n int) {
	t.Helper()
	ctx := testCtx(t)
	m := make(map[string]int, 1000)
	for i := 0; i < n; i += 1000 {
		for k := range 1000 {
			m[fmt.Sprintf("k%03d", k)] = i + k
		}
		must(t, d.SetMany(ctx, m))
	}
}

// historyEvents is more than the leader keeps of a table's history.
const historyEvents = 101_000

func TestWatch_SlowConsumerCompacted(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		if testing.Short() && !db.IsLeader() {
			t.Skip("writes 100k events; the leader role covers it under -short")
		}
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		fillHistory(t, d, 1000) // one revision of 1000 events

		stalled, resume := make(chan struct{}), make(chan struct{})
		type outcome struct {
			events int
			rev    uint64 // of the events seen
			err    error
		}
		done := make(chan outcome, 1)
		go func() {
			var o outcome
			for ev, err := range db.Watch(ctx, "d", &cyberdb.WatchOptions{From: from}) {
				if err != nil {
					o.err = err
					break
				}
				if o.events++; o.events == 1 {
					o.rev = ev.Rev
					close(stalled)
					<-resume // fall behind
				} else if ev.Rev != o.rev {
					o.err = fmt.Errorf("event %d of revision %d, after those of %d", o.events, ev.Rev, o.rev)
					break
				}
			}
			done <- o
		}()
		<-stalled
		fillHistory(t, d, historyEvents)
		close(resume)
		var o outcome
		select {
		case o = <-done:
		case <-time.After(eventWait):
			t.Fatal("the slow watch did not end")
		}
		var ce *cyberdb.CompactedError
		if !errors.As(o.err, &ce) || !errors.Is(o.err, cyberdb.ErrCompacted) {
			t.Fatalf("slow watch ended with %v after %d events, want a *CompactedError", o.err, o.events)
		}
		if o.events != 1000 || ce.From != o.rev || ce.Oldest <= o.rev || ce.Table != "d" {
			t.Fatalf("slow watch saw %d events of revision %d, then %+v; want 1000 events, then From %d", o.events, o.rev, ce, o.rev)
		}

		// A new watch from before the history is told so at once.
		n := 0
		for _, err := range db.Watch(ctx, "d", &cyberdb.WatchOptions{From: from}) {
			n++
			if !errors.As(err, &ce) || !errors.Is(err, cyberdb.ErrCompacted) {
				t.Fatalf("watch from a compacted revision yielded %v, want a *CompactedError", err)
			}
			if ce.Table != "d" || ce.From != from || ce.Oldest <= o.rev {
				t.Fatalf("CompactedError %+v; want table d, From %d, Oldest after %d", ce, from, o.rev)
			}
		}
		if n != 1 {
			t.Fatalf("watch yielded %d pairs, want the one error", n)
		}
	})
}

func TestWatch_AlwaysDurability(t *testing.T) {
	roles := map[string]bool{"leader": true, "client": false}
	for name, leader := range roles {
		t.Run(name, func(t *testing.T) {
			dir := ctest.Dir(t)
			db := openLeaderWith(t, dir, func(o *cyberdb.Options) { o.Durability = cyberdb.Always })
			if !leader {
				db = openClient(t, dir)
			}
			ctx := testCtx(t)
			d, err := db.CreateDict(ctx, "d")
			must(t, err)
			from := dictAnchor(t, db, d)
			w := startWatch(t, db, "d", &cyberdb.WatchOptions{From: from})
			must(t, d.Set(ctx, "k", 1))
			wantEvent(t, w.next(t), cyberdb.EventSet, "k", 1, nil)
			must(t, d.SetTTL(ctx, "e", 1, shortTTL))
			wantEvent(t, w.next(t), cyberdb.EventSet, "e", 1, nil)
			wantEvent(t, w.next(t), cyberdb.EventExpire, "e", nil, 1)
		})
	}
}

func TestWatch_ContinuesAcrossHandover(t *testing.T) {
	for _, name := range []string{"watcher takes over", "watcher stays a client"} {
		t.Run(name, func(t *testing.T) {
			dir := ctest.Dir(t)
			ctx := testCtx(t)
			leader := openLeader(t, dir)
			watching := openClient(t, dir)
			writer := watching
			if name == "watcher stays a client" {
				writer = openClient(t, dir) // one of the two takes over
			}
			d, err := leader.CreateDict(ctx, "d")
			must(t, err)
			from := dictAnchor(t, leader, d)
			w := startWatch(t, watching, "d", &cyberdb.WatchOptions{From: from})
			for i := 1; i <= 5; i++ {
				must(t, d.Set(ctx, "k", i))
			}
			wantEvent(t, w.next(t), cyberdb.EventSet, "k", 1, nil) // the watch is under way
			must(t, leader.Close())
			wd, err := writer.Dict(ctx, "d")
			must(t, err)
			for i := 6; i <= 10; i++ {
				must(t, wd.Set(ctx, "k", i))
			}
			r := revs{}
			for i := 2; i <= 10; i++ {
				ev := w.next(t)
				wantEvent(t, ev, cyberdb.EventSet, "k", i, i-1)
				r.next(t, ev)
			}
			t.Logf("watcher leads: %v; writer leads: %v", watching.IsLeader(), writer.IsLeader())
		})
	}
}

func TestWatch_EndsWhenDBCloses(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		w := startWatch(t, db, "d", nil)
		w.syncDict(t, d, "probe")
		must(t, db.Close())
		it := w.item(t)
		if !errors.Is(it.err, cyberdb.ErrClosed) {
			t.Fatalf("watch when its DB closes yielded %+v, %v; want ErrClosed", it.ev, it.err)
		}
		w.ended(t, time.Second)
	})
}

func TestWatch_PrefixOfEverything(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		from := dictAnchor(t, db, d)
		w := startWatch(t, db, "d", &cyberdb.WatchOptions{Prefix: true, From: from})
		must(t, d.Set(ctx, "a", 1))
		must(t, d.Set(ctx, "z", 2))
		wantEvent(t, w.next(t), cyberdb.EventSet, "a", 1, nil)
		wantEvent(t, w.next(t), cyberdb.EventSet, "z", 2, nil)
	})
}
