package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// batchTables creates the dicts "a" and "b" and the list "l" for a test.
func batchTables(t *testing.T, db *cyberdb.DB) (a, b *cyberdb.Dict, l *cyberdb.List) {
	t.Helper()
	ctx := testCtx(t)
	a, err := db.CreateDict(ctx, "a")
	must(t, err)
	b, err = db.CreateDict(ctx, "b", map[string]any{"s": "str"})
	must(t, err)
	l, err = db.CreateList(ctx, "l")
	must(t, err)
	return a, b, l
}

// wantPending checks a Pending's outcome.
func wantPending[T comparable](t *testing.T, name string, p *cyberdb.Pending[T], val T, found bool) {
	t.Helper()
	if p.Err() != nil || p.Value() != val || p.Found() != found {
		t.Errorf("%s = %v, found %v, err %v; want %v, found %v", name, p.Value(), p.Found(), p.Err(), val, found)
	}
}

// wantValue checks that a Pending[Value] holds the encoding of val.
func wantValue(t *testing.T, name string, p *cyberdb.Pending[cyberdb.Value], val any) {
	t.Helper()
	got, err := p.Value().Any()
	if p.Err() != nil || !p.Found() || err != nil || fmt.Sprint(got) != fmt.Sprint(val) {
		t.Errorf("%s = %v (%v), found %v, err %v; want %v", name, got, err, p.Found(), p.Err(), val)
	}
}

func TestBatch_Results(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, b, l := batchTables(t, db)
		bt := db.Batch()
		set := bt.Set(a, "k", 7)
		get := bt.Get(a, "k")
		getOther := bt.Get(b, "s")
		missing := bt.Get(a, "missing")
		has := bt.Has(a, "k")
		hasNot := bt.Has(b, "k")
		incr := bt.Incr(b, "n", 5)
		incr2 := bt.Incr(b, "n", -2)
		once := bt.SetIfAbsent(a, "once", "x")
		twice := bt.SetIfAbsent(a, "once", "y")
		app := bt.Append(l, "p")
		app2 := bt.Append(l, "q")
		n := bt.ListLen(l)
		pop := bt.Pop(l, 0)
		del := bt.Delete(a, "k")
		delAgain := bt.Delete(a, "k")
		if bt.Len() != 16 {
			t.Fatalf("Len = %d, want 16", bt.Len())
		}
		must(t, bt.Run(ctx))
		wantPending(t, "Set", set, struct{}{}, false)
		wantValue(t, "Get", get, 7)
		wantValue(t, "Get of another dict", getOther, "str")
		if missing.Err() != nil || missing.Found() || missing.Value().Bytes() != nil {
			t.Errorf("Get of a missing key = %v, found %v, err %v", missing.Value(), missing.Found(), missing.Err())
		}
		wantPending(t, "Has", has, struct{}{}, true)
		wantPending(t, "Has of a missing key", hasNot, struct{}{}, false)
		wantPending(t, "Incr", incr, 5, false)
		wantPending(t, "Incr again", incr2, 3, false)
		wantPending(t, "SetIfAbsent", once, struct{}{}, true)
		wantPending(t, "SetIfAbsent of a set key", twice, struct{}{}, false)
		wantPending(t, "Append", app, 1, false)
		wantPending(t, "Append again", app2, 2, false)
		wantPending(t, "ListLen", n, 2, false)
		wantValue(t, "Pop", pop, "p")
		wantPending(t, "Delete", del, struct{}{}, true)
		wantPending(t, "Delete of a deleted key", delAgain, struct{}{}, false)
		if bt.Len() != 0 {
			t.Fatalf("Len after Run = %d, want 0", bt.Len())
		}
		var s string
		if _, err := a.Get(ctx, "once", &s); err != nil || s != "x" {
			t.Fatalf("once = %q, %v; want x", s, err)
		}
		var rest []string
		must(t, l.ToSlice(ctx, &rest))
		if fmt.Sprint(rest) != "[q]" {
			t.Fatalf("list = %v, want [q]", rest)
		}
	})
}

func TestBatch_FailureDoesNotStopLaterOps(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, b, l := batchTables(t, db)
		bt := db.Batch()
		before := bt.Incr(b, "n", 1)
		wrong := bt.Incr(b, "s", 1)
		after := bt.Incr(b, "n", 1)
		empty := bt.Pop(l, 0)
		app := bt.Append(l, "z")
		err := bt.Run(ctx)
		if !errors.Is(err, cyberdb.ErrWrongType) || err.Error() != wrong.Err().Error() {
			t.Fatalf("Run = %v; want the Incr of a string's error %v", err, wrong.Err())
		}
		if !errors.Is(wrong.Err(), cyberdb.ErrWrongType) || wrong.Value() != 0 {
			t.Fatalf("Incr of a string = %d, %v; want ErrWrongType", wrong.Value(), wrong.Err())
		}
		if !errors.Is(empty.Err(), cyberdb.ErrIndex) || empty.Found() {
			t.Fatalf("Pop of an empty list: found %v, %v; want ErrIndex", empty.Found(), empty.Err())
		}
		wantPending(t, "Incr before", before, 1, false)
		wantPending(t, "Incr after", after, 2, false)
		wantPending(t, "Append after", app, 1, false)
	})
}

func TestBatch_ResetAndReuse(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, b, _ := batchTables(t, db)
		bt := db.Batch()
		dropped := bt.Incr(b, "n", 100)
		bt.Reset()
		if bt.Len() != 0 {
			t.Fatalf("Len after Reset = %d", bt.Len())
		}
		must(t, bt.Run(ctx))
		if !errors.Is(dropped.Err(), cyberdb.ErrInvalid) {
			t.Fatalf("a dropped operation's Err = %v, want ErrInvalid", dropped.Err())
		}
		first := bt.Incr(b, "n", 1)
		must(t, bt.Run(ctx))
		second := bt.Incr(b, "n", 1)
		must(t, bt.Run(ctx))
		wantPending(t, "first run", first, 1, false)
		wantPending(t, "second run", second, 2, false)
	})
}

func TestBatch_PendingBeforeRun(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		a, _, _ := batchTables(t, db)
		bt := db.Batch()
		p := bt.Get(a, "k")
		if !errors.Is(p.Err(), cyberdb.ErrInvalid) || !strings.Contains(p.Err().Error(), "not run") {
			t.Fatalf("Err before Run = %v, want ErrInvalid: batch not run", p.Err())
		}
		if p.Found() || p.Value().Bytes() != nil {
			t.Fatalf("before Run: %v, found %v", p.Value(), p.Found())
		}
	})
}

func TestBatch_Empty(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		if err := db.Batch().Run(testCtx(t)); err != nil {
			t.Fatalf("Run of an empty batch = %v", err)
		}
	})
}

func TestBatch_EncodingErrorSendsNothing(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, b, l := batchTables(t, db)
		bt := db.Batch()
		incr := bt.Incr(b, "n", 1)
		bad := bt.Set(b, "bad", make(chan int))
		if !errors.Is(bad.Err(), cyberdb.ErrInvalid) {
			t.Fatalf("Set of a channel: Err before Run = %v, want ErrInvalid", bad.Err())
		}
		bad2 := bt.Append(l, func() {})
		err := bt.Run(ctx)
		if !errors.Is(err, cyberdb.ErrInvalid) || err != bad.Err() {
			t.Fatalf("Run = %v, want the first encoding error %v", err, bad.Err())
		}
		if !errors.Is(bad2.Err(), cyberdb.ErrInvalid) || !errors.Is(incr.Err(), cyberdb.ErrInvalid) {
			t.Fatalf("other operations: %v, %v; want ErrInvalid", bad2.Err(), incr.Err())
		}
		if found, err := b.Has(ctx, "n"); err != nil || found {
			t.Fatalf("the Incr of a batch that failed to encode was applied: %v, %v", found, err)
		}
		if bt.Len() != 0 {
			t.Fatalf("Len after a failed Run = %d", bt.Len())
		}
	})
}

func TestBatch_TableOfAnotherDB(t *testing.T) {
	ctx := testCtx(t)
	db := openLeader(t, ctest.Dir(t))
	other, err := openLeader(t, ctest.Dir(t)).CreateDict(ctx, "d")
	must(t, err)
	bt := db.Batch()
	p := bt.Incr(other, "n", 1)
	if err := bt.Run(ctx); !errors.Is(err, cyberdb.ErrInvalid) || !errors.Is(p.Err(), cyberdb.ErrInvalid) {
		t.Fatalf("batch on another DB's table: %v, %v; want ErrInvalid", err, p.Err())
	}
}

func TestBatch_Closed(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		a, _, _ := batchTables(t, db)
		bt := db.Batch()
		p := bt.Incr(a, "n", 1)
		must(t, db.Close())
		if err := bt.Run(testCtx(t)); !errors.Is(err, cyberdb.ErrClosed) || !errors.Is(p.Err(), cyberdb.ErrClosed) {
			t.Fatalf("Run after Close = %v, %v; want ErrClosed", err, p.Err())
		}
	})
}

// TestBatch_ResultsTooLarge reads two values that do not fit in one
// reply together: the larger read fails, and the other operations keep
// their results.
func TestBatch_ResultsTooLarge(t *testing.T) {
	const limit = 1 << 16
	dir := ctest.Dir(t)
	openLeaderWith(t, dir, func(o *cyberdb.Options) { o.MaxMessageSize = limit })
	o := testOptions()
	o.MaxMessageSize = limit
	db, err := cyberdb.Open(dir, o)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "d")
	must(t, err)
	must(t, d.Set(ctx, "big", strings.Repeat("x", limit*2/3)))
	must(t, d.Set(ctx, "small", strings.Repeat("y", limit/3)))
	bt := db.Batch()
	big := bt.Get(d, "big")
	small := bt.Get(d, "small")
	incr := bt.Incr(d, "n", 1)
	if err := bt.Run(ctx); !errors.Is(err, cyberdb.ErrInvalid) || err.Error() != big.Err().Error() {
		t.Fatalf("Run = %v, want the large read's error %v", err, big.Err())
	}
	if !errors.Is(big.Err(), cyberdb.ErrInvalid) {
		t.Fatalf("large read: %v, want ErrInvalid", big.Err())
	}
	if s, err := small.Value().Any(); small.Err() != nil || err != nil || len(s.(string)) != limit/3 {
		t.Fatalf("small read: %v, %v", small.Err(), err)
	}
	wantPending(t, "Incr", incr, 1, false)
}

// TestProcess_BatchIncrExact has 4 processes each run 250 batches of 4
// increments of one counter; exactly 4000 increments must be counted.
func TestProcess_BatchIncrExact(t *testing.T) {
	const procs, batches, per = 4, 250, 4
	dir := ctest.Dir(t)
	var kids []*ctest.Child
	for range procs {
		c := ctest.StartChild(t, "batchincr", "CDB_DIR="+dir, "CDB_N="+strconv.Itoa(batches), "CDB_PER="+strconv.Itoa(per))
		c.Expect("open ", childTimeout)
		kids = append(kids, c)
	}
	db := openClient(t, dir)
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "c")
	must(t, err)
	for _, c := range kids {
		c.Send("go")
	}
	for _, c := range kids {
		c.Expect("done", childTimeout)
	}
	var got int
	if _, err := d.Get(ctx, "n", &got); err != nil || got != procs*batches*per {
		t.Fatalf("counter = %d, %v; want %d", got, err, procs*batches*per)
	}
	must(t, db.Close())
	for _, c := range kids {
		if err := c.Stop(childTimeout); err != nil {
			t.Errorf("child exit: %v", err)
		}
	}
}

// TestTakeover_BatchExactlyOnce kills the leader with SIGKILL while two
// processes run batches of increments in Always mode: their batches are
// resent to the next leader, and every increment is counted exactly once.
func TestTakeover_BatchExactlyOnce(t *testing.T) {
	const procs, batches, per = 2, 300, 4
	dir := ctest.Dir(t)
	always := "CDB_DURABILITY=Always"
	leader := ctest.StartChild(t, "hold", "CDB_DIR="+dir, always)
	if got := leader.Expect("open leader=", childTimeout); !strings.HasPrefix(got, "true") {
		t.Fatalf("first child: leader=%s", got)
	}
	var kids []*ctest.Child
	for range procs {
		c := ctest.StartChild(t, "batchincr", "CDB_DIR="+dir, always, "CDB_N="+strconv.Itoa(batches), "CDB_PER="+strconv.Itoa(per))
		c.Expect("open leader=false", childTimeout)
		kids = append(kids, c)
	}
	db := openClient(t, dir)
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "c")
	must(t, err)
	for _, c := range kids {
		c.Send("go")
	}
	var at int64
	ctest.Eventually(t, childTimeout, "batches applied", func() bool {
		at, err = d.Incr(ctx, "n", 0)
		return err == nil && at >= procs*batches*per/4
	})
	leader.Kill()
	t.Logf("killed the leader at %d of %d increments", at, procs*batches*per)
	for _, c := range kids {
		c.Expect("done", childTimeout)
	}
	var got int
	if _, err := d.Get(ctx, "n", &got); err != nil || got != procs*batches*per {
		t.Fatalf("counter = %d, %v; want %d", got, err, procs*batches*per)
	}
	must(t, db.Close())
	for _, c := range kids {
		if err := c.Stop(childTimeout); err != nil {
			t.Errorf("child exit: %v", err)
		}
	}
}

// childBatchIncr is childIncr with CDB_N batches of CDB_PER increments.
func childBatchIncr(ctx context.Context, db *cyberdb.DB) error {
	n, _ := strconv.Atoi(os.Getenv("CDB_N"))
	per, _ := strconv.Atoi(os.Getenv("CDB_PER"))
	var line string
	fmt.Scanln(&line)
	d, err := db.Dict(ctx, "c")
	if err != nil {
		return err
	}
	bt := db.Batch()
	for range n {
		for range per {
			bt.Incr(d, "n", 1)
		}
		if err := bt.Run(ctx); err != nil {
			return err
		}
	}
	fmt.Println("done")
	ctest.WaitStdin()
	return nil
}
