package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// txnTables creates the dicts "a" and "b" and the list "l" with content.
func txnTables(t *testing.T, db *cyberdb.DB) (a, b *cyberdb.Dict, l *cyberdb.List) {
	t.Helper()
	ctx := testCtx(t)
	a, err := db.CreateDict(ctx, "a", map[string]any{"x": 1, "y": "why", "s": "str"})
	must(t, err)
	b, err = db.CreateDict(ctx, "b", map[string]any{"n": 10})
	must(t, err)
	l, err = db.CreateList(ctx, "l", []string{"e0"})
	must(t, err)
	return a, b, l
}

// storeState is the content of the tables of txnTables, with versions.
type storeState struct {
	a, b map[string]any
	vers map[string]uint64 // of a's and b's keys, as "a/x"
	l    []any
}

// readState reads the tables of txnTables.
func readState(t *testing.T, a, b *cyberdb.Dict, l *cyberdb.List) storeState {
	t.Helper()
	ctx := testCtx(t)
	s := storeState{vers: map[string]uint64{}}
	must(t, a.ToMap(ctx, &s.a))
	must(t, b.ToMap(ctx, &s.b))
	must(t, l.ToSlice(ctx, &s.l))
	for name, d := range map[string]*cyberdb.Dict{"a": a, "b": b} {
		keys, err := d.Keys(ctx)
		must(t, err)
		for _, k := range keys {
			v, _, err := d.GetVersion(ctx, k, nil)
			must(t, err)
			s.vers[name+"/"+k] = v
		}
	}
	return s
}

// sameState fails the test if the tables differ from before.
func sameState(t *testing.T, before storeState, a, b *cyberdb.Dict, l *cyberdb.List) {
	t.Helper()
	after := readState(t, a, b, l)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a transaction that failed changed the store:\nbefore %v\nafter  %v", before, after)
	}
}

// wantTxnError checks that err is a *TxnError at index wrapping target.
func wantTxnError(t *testing.T, err error, index int, target error) {
	t.Helper()
	var te *cyberdb.TxnError
	if !errors.As(err, &te) {
		t.Fatalf("Commit = %v, want a *TxnError", err)
	}
	if te.Index != index || !errors.Is(err, target) {
		t.Fatalf("TxnError{Index: %d, Err: %v}; want index %d wrapping %v", te.Index, te.Err, index, target)
	}
	if !strings.Contains(err.Error(), fmt.Sprint("operation ", index)) {
		t.Errorf("TxnError message %q does not name operation %d", err, index)
	}
}

func TestTxn_CommitAppliesAllAndFillsPendings(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, b, l := txnTables(t, db)
		verY, _, err := a.GetVersion(ctx, "y", nil)
		must(t, err)

		tx := db.Txn()
		tx.CheckAbsent(a, "new")
		tx.CheckEquals(a, "x", 1)
		tx.CheckVersion(a, "y", verY)
		tx.CheckVersion(b, "absent", 0)
		set := tx.Set(a, "new", "v")
		incr := tx.Incr(b, "n", 5)
		app := tx.Append(l, "e1")
		del := tx.Delete(a, "x")
		delMissing := tx.Delete(a, "missing")
		get := tx.Get(a, "y")
		getNew := tx.Get(a, "new") // sees the Set above
		getGone := tx.Get(a, "x")  // sees the Delete above
		pop := tx.Pop(l, 0)
		ttl := tx.SetTTL(b, "t", 1, time.Hour)
		if tx.Len() != 14 {
			t.Fatalf("Len = %d, want 14", tx.Len())
		}
		must(t, tx.Commit(ctx))
		if tx.Len() != 0 {
			t.Fatalf("Len after Commit = %d, want 0", tx.Len())
		}

		for name, err := range map[string]error{"set": set.Err(), "incr": incr.Err(), "append": app.Err(),
			"delete": del.Err(), "get": get.Err(), "pop": pop.Err(), "setttl": ttl.Err()} {
			if err != nil {
				t.Errorf("Pending %s: %v", name, err)
			}
		}
		if incr.Value() != 15 || app.Value() != 2 || !del.Found() || delMissing.Found() {
			t.Errorf("Incr %d, Append %d, Delete found %v, Delete of a missing key found %v; want 15, 2, true, false",
				incr.Value(), app.Value(), del.Found(), delMissing.Found())
		}
		if !get.Found() || valueString(get.Value()) != "why" || get.Version() != verY {
			t.Errorf("Get = %v found %v version %d; want why at %d", get.Value(), get.Found(), get.Version(), verY)
		}
		if !getNew.Found() || valueString(getNew.Value()) != "v" || getGone.Found() {
			t.Errorf("Get of the new key = %v (%v), of the deleted one found %v", getNew.Value(), getNew.Found(), getGone.Found())
		}
		if !pop.Found() || valueString(pop.Value()) != "e0" {
			t.Errorf("Pop = %v, %v; want e0", pop.Value(), pop.Found())
		}
		// Every write of a transaction has its revision.
		rev := set.Version()
		if rev <= verY || incr.Version() != rev || ttl.Version() != rev || getNew.Version() != rev {
			t.Errorf("versions: set %d, incr %d, setttl %d, get of the new key %d; want one revision after %d",
				rev, incr.Version(), ttl.Version(), getNew.Version(), verY)
		}

		s := readState(t, a, b, l)
		want := storeState{
			a:    map[string]any{"new": "v", "y": "why", "s": "str"},
			b:    map[string]any{"n": int64(15), "t": int64(1)},
			l:    []any{"e1"},
			vers: s.vers,
		}
		if fmt.Sprint(s) != fmt.Sprint(want) {
			t.Fatalf("after commit: %v\nwant %v", s, want)
		}
		if s.vers["a/new"] != rev || s.vers["b/n"] != rev || s.vers["a/y"] != verY {
			t.Fatalf("stored versions %v; want new and n at %d, y kept at %d", s.vers, rev, verY)
		}
		if left, _ := ttlOf(t, b, "t"); left <= 59*time.Minute {
			t.Fatalf("TTL of a key set by SetTTL in a transaction: %v", left)
		}
	})
}

func TestTxn_FailedCheckAppliesNothing(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, b, l := txnTables(t, db)
		verX, _, err := a.GetVersion(ctx, "x", nil)
		must(t, err)
		checks := []struct {
			name  string
			check func(tx *cyberdb.Txn)
		}{
			{"CheckEquals other value", func(tx *cyberdb.Txn) { tx.CheckEquals(a, "x", 2) }},
			{"CheckEquals other type", func(tx *cyberdb.Txn) { tx.CheckEquals(a, "x", 1.0) }},
			{"CheckEquals absent key", func(tx *cyberdb.Txn) { tx.CheckEquals(a, "absent", 1) }},
			{"CheckAbsent present key", func(tx *cyberdb.Txn) { tx.CheckAbsent(a, "x") }},
			{"CheckVersion other version", func(tx *cyberdb.Txn) { tx.CheckVersion(a, "x", verX+1) }},
			{"CheckVersion 0 of present key", func(tx *cyberdb.Txn) { tx.CheckVersion(a, "x", 0) }},
			{"CheckVersion of absent key", func(tx *cyberdb.Txn) { tx.CheckVersion(a, "absent", verX) }},
		}
		for _, c := range checks {
			t.Run(c.name, func(t *testing.T) {
				before := readState(t, a, b, l)
				tx := db.Txn()
				ps := []interface{ Err() error }{
					tx.Set(a, "x", 100),
					tx.Append(l, "appended"),
					tx.Set(b, "set", "in b"),
					tx.Incr(b, "n", 1),
					tx.Delete(a, "y"),
					tx.Pop(l, 0),
				}
				c.check(tx)
				ps = append(ps, tx.Set(b, "later", 1), tx.Append(l, "later"))
				err := tx.Commit(ctx)
				wantTxnError(t, err, 6, cyberdb.ErrConflict)
				for i, p := range ps {
					if p.Err() == nil {
						t.Errorf("Pending %d of a failed transaction has no error", i)
					}
				}
				sameState(t, before, a, b, l)
			})
		}
	})
}

func TestTxn_FailingOperationAppliesNothing(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, b, l := txnTables(t, db)
		empty, err := db.CreateList(ctx, "empty")
		must(t, err)
		gone, err := db.CreateDict(ctx, "gone")
		must(t, err)
		must(t, db.DropTable(ctx, "gone"))
		cases := []struct {
			name   string
			op     func(tx *cyberdb.Txn)
			target error
		}{
			{"Incr of a string", func(tx *cyberdb.Txn) { tx.Incr(a, "s", 1) }, cyberdb.ErrWrongType},
			{"Pop of an empty list", func(tx *cyberdb.Txn) { tx.Pop(empty, 0) }, cyberdb.ErrIndex},
			{"Pop out of range", func(tx *cyberdb.Txn) { tx.Pop(l, 5) }, cyberdb.ErrIndex},
			{"Set in a dropped dict", func(tx *cyberdb.Txn) { tx.Set(gone, "k", 1) }, cyberdb.ErrNoTable},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := readState(t, a, b, l)
				tx := db.Txn()
				tx.Set(a, "x", 100)
				tx.Append(l, "appended")
				tx.Incr(b, "n", 1)
				tx.Set(b, "new", 1)
				c.op(tx)
				tx.Append(l, "after")
				err := tx.Commit(ctx)
				wantTxnError(t, err, 4, c.target)
				if errors.Is(err, cyberdb.ErrConflict) {
					t.Fatalf("a failed operation reported as a conflict: %v", err)
				}
				sameState(t, before, a, b, l)
			})
		}
	})
}

func TestTxn_InvalidOperationsRefused(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, b, l := txnTables(t, db)
		otherDB := openLeader(t, ctest.Dir(t)) // an unrelated store
		foreign, err := otherDB.CreateDict(ctx, "a")
		must(t, err)
		cases := []struct {
			name string
			op   func(tx *cyberdb.Txn)
		}{
			{"SetTTL 0", func(tx *cyberdb.Txn) { tx.SetTTL(a, "k", 1, 0) }},
			{"SetTTL negative", func(tx *cyberdb.Txn) { tx.SetTTL(a, "k", 1, -time.Second) }},
			{"unencodable Set", func(tx *cyberdb.Txn) { tx.Set(a, "k", func() {}) }},
			{"unencodable CheckEquals", func(tx *cyberdb.Txn) { tx.CheckEquals(a, "x", make(chan int)) }},
			{"table of another DB", func(tx *cyberdb.Txn) { tx.Set(foreign, "k", 1) }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := readState(t, a, b, l)
				tx := db.Txn()
				first := tx.Set(a, "x", 100)
				tx.Append(l, "appended")
				c.op(tx)
				err := tx.Commit(ctx)
				if !errors.Is(err, cyberdb.ErrInvalid) {
					t.Fatalf("Commit = %v, want ErrInvalid", err)
				}
				if first.Err() == nil {
					t.Error("the Pending of an unsent transaction has no error")
				}
				sameState(t, before, a, b, l)
			})
		}
		// An empty transaction commits, doing nothing.
		if err := db.Txn().Commit(ctx); err != nil {
			t.Fatalf("empty Commit = %v", err)
		}
	})
}

func TestTxn_TooManyOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("queues 65,537 operations")
	}
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, b, l := txnTables(t, db)
		before := readState(t, a, b, l)
		tx := db.Txn()
		for range 1<<16 + 1 {
			tx.Incr(b, "n", 1)
		}
		if err := tx.Commit(ctx); !errors.Is(err, cyberdb.ErrInvalid) {
			t.Fatalf("Commit of %d operations = %v, want ErrInvalid", 1<<16+1, err)
		}
		sameState(t, before, a, b, l)
	})
}

func TestTxn_Reuse(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, _, _ := txnTables(t, db)
		tx := db.Txn()
		tx.CheckAbsent(a, "x") // fails
		tx.Set(a, "k", 1)
		if err := tx.Commit(ctx); !errors.Is(err, cyberdb.ErrConflict) {
			t.Fatalf("Commit = %v, want ErrConflict", err)
		}
		// The transaction is empty again and commits new operations only.
		set := tx.Set(a, "k", 2)
		must(t, tx.Commit(ctx))
		if set.Err() != nil {
			t.Fatal(set.Err())
		}
		if n := intOf(t, a, "k"); n != 2 {
			t.Fatalf("k = %d, want 2", n)
		}
	})
}

func TestTxn_ExpiredKeyIsAbsent(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		a, _, _ := txnTables(t, db)
		tx := db.Txn()
		tx.SetTTL(a, "lease", "me", shortTTL)
		must(t, tx.Commit(ctx))
		waitGone(t, a, "lease")
		tx.CheckAbsent(a, "lease")
		tx.CheckVersion(a, "lease", 0)
		tx.Set(a, "lease", "you")
		must(t, tx.Commit(ctx))
	})
}

func TestTxn_ConcurrentTransfersKeepSum(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		const total = 2000
		acct, err := db.CreateDict(ctx, "acct", map[string]int{"alice": total / 2, "bob": total / 2})
		must(t, err)
		peer := openClient(t, db.Dir()) // transfers from another DB too
		peerAcct, err := peer.Dict(ctx, "acct")
		must(t, err)
		transfers := 100
		if testing.Short() {
			transfers = 30
		}

		// readBoth reads the two balances as of one moment.
		readBoth := func(db *cyberdb.DB, d *cyberdb.Dict) (alice, bob int, va, vb uint64, err error) {
			tx := db.Txn()
			ga, gb := tx.Get(d, "alice"), tx.Get(d, "bob")
			if err := tx.Commit(ctx); err != nil {
				return 0, 0, 0, 0, err
			}
			if err := errors.Join(ga.Value().Decode(&alice), gb.Value().Decode(&bob)); err != nil {
				return 0, 0, 0, 0, err
			}
			return alice, bob, ga.Version(), gb.Version(), nil
		}
		// checked moves amount from one to the other unless it would go
		// negative, with version checks, retrying on conflict.
		checked := func(db *cyberdb.DB, d *cyberdb.Dict, amount int) error {
			for {
				alice, bob, va, vb, err := readBoth(db, d)
				if err != nil {
					return err
				}
				if alice-amount < 0 || bob+amount < 0 {
					return nil
				}
				tx := db.Txn()
				tx.CheckVersion(d, "alice", va)
				tx.CheckVersion(d, "bob", vb)
				tx.Set(d, "alice", alice-amount)
				tx.Set(d, "bob", bob+amount)
				err = tx.Commit(ctx)
				if !errors.Is(err, cyberdb.ErrConflict) {
					return err
				}
			}
		}
		// blind moves amount with two Incrs, no checks.
		blind := func(db *cyberdb.DB, d *cyberdb.Dict, amount int) error {
			tx := db.Txn()
			tx.Incr(d, "alice", int64(-amount))
			tx.Incr(d, "bob", int64(amount))
			return tx.Commit(ctx)
		}

		var writers, readers sync.WaitGroup
		stop := make(chan struct{})
		for w := range 6 {
			dbw, d := db, acct
			if w%2 == 1 {
				dbw, d = peer, peerAcct
			}
			move := checked
			if w >= 4 {
				move = blind
			}
			writers.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 1))
				for range transfers {
					if err := move(dbw, d, r.IntN(101)-50); err != nil {
						t.Errorf("transfer: %v", err)
						return
					}
				}
			})
		}
		reads := make([]int, 2)
		for i, dbr := range []*cyberdb.DB{db, peer} {
			d := acct
			if dbr == peer {
				d = peerAcct
			}
			readers.Go(func() {
				for { // at least once, however soon the writers end
					alice, bob, _, _, err := readBoth(dbr, d)
					if err != nil {
						t.Errorf("read: %v", err)
						return
					}
					if alice+bob != total {
						t.Errorf("alice %d + bob %d = %d, want %d", alice, bob, alice+bob, total)
						return
					}
					reads[i]++
					select {
					case <-stop:
						return
					default:
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		readers.Wait()
		alice, bob, _, _, err := readBoth(db, acct)
		must(t, err)
		if alice+bob != total {
			t.Fatalf("after the transfers: alice %d + bob %d != %d", alice, bob, total)
		}
		if reads[0] == 0 || reads[1] == 0 {
			t.Fatalf("readers read %v times", reads)
		}
	})
}

func TestTxn_ErrorUnwraps(t *testing.T) {
	inner := fmt.Errorf("%w: check failed", cyberdb.ErrConflict)
	err := error(&cyberdb.TxnError{Index: 3, Err: inner})
	if !errors.Is(err, cyberdb.ErrConflict) || errors.Unwrap(err) != inner {
		t.Fatalf("TxnError does not unwrap to its Err")
	}
	if msg := err.Error(); !strings.Contains(msg, "3") || !strings.Contains(msg, "check failed") {
		t.Fatalf("TxnError message %q lacks the index or the cause", msg)
	}
}

func TestTxn_CommitCanceled(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		a, b, l := txnTables(t, db)
		before := readState(t, a, b, l)
		ctx, cancel := context.WithCancel(testCtx(t))
		cancel()
		tx := db.Txn()
		set := tx.Set(a, "x", 100)
		tx.Append(l, "x")
		if err := tx.Commit(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit under a canceled context = %v, want context.Canceled", err)
		}
		if !errors.Is(set.Err(), context.Canceled) {
			t.Fatalf("Pending of a canceled Commit: %v", set.Err())
		}
		sameState(t, before, a, b, l)
	})
}

func TestTxn_ListAppendsAndPopsInOrder(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		_, _, l := txnTables(t, db)
		tx := db.Txn()
		var lens []*cyberdb.Pending[int]
		for i := range 3 {
			lens = append(lens, tx.Append(l, i))
		}
		first := tx.Pop(l, 0)
		last := tx.Pop(l, -1)
		must(t, tx.Commit(ctx))
		for i, p := range lens {
			if p.Value() != i+2 {
				t.Errorf("Append %d: length %d, want %d", i, p.Value(), i+2)
			}
		}
		if valueString(first.Value()) != "e0" || valueString(last.Value()) != "2" {
			t.Fatalf("pops %v %v, want e0 2", first.Value(), last.Value())
		}
		var got []any
		must(t, l.ToSlice(ctx, &got))
		if !slices.Equal(got, []any{int64(0), int64(1)}) {
			t.Fatalf("list = %v, want [0 1]", got)
		}
	})
}
