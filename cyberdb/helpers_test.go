package cyberdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// testOptions keeps backups out of the way of tests that do not look at
// them, and quiet.
func testOptions() *cyberdb.Options {
	o := cyberdb.DefaultOptions()
	o.BackupInterval = -1
	o.OpenTimeout = 10 * time.Second
	o.Logger = ctest.Logger()
	return o
}

// openLeader opens a fresh store, which makes this DB its leader.
func openLeader(t testing.TB, dir string) *cyberdb.DB {
	t.Helper()
	return openLeaderWith(t, dir, func(*cyberdb.Options) {})
}

// openLeaderWith is openLeader with options adjusted by set.
func openLeaderWith(t testing.TB, dir string, set func(*cyberdb.Options)) *cyberdb.DB {
	t.Helper()
	o := testOptions()
	set(o)
	db, err := cyberdb.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if !db.IsLeader() {
		t.Fatal("first DB of a fresh directory is not the leader")
	}
	return db
}

// openClient opens a second DB on dir, which attaches to its leader.
func openClient(t testing.TB, dir string) *cyberdb.DB {
	t.Helper()
	db, err := cyberdb.Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if db.IsLeader() {
		t.Fatal("second DB of a directory is a leader")
	}
	return db
}

// inBothRoles runs f against a leader's DB and against a client's DB.
func inBothRoles(t *testing.T, f func(t *testing.T, db *cyberdb.DB)) {
	t.Run("leader", func(t *testing.T) {
		f(t, openLeader(t, ctest.Dir(t)))
	})
	t.Run("client", func(t *testing.T) {
		dir := ctest.Dir(t)
		openLeader(t, dir)
		f(t, openClient(t, dir))
	})
}

// testCtx returns a context that ends with the test, or after a minute.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// takeWait bounds the wait for a blocked call to return once it can.
const takeWait = 5 * time.Second

// outcome waits for what a call running in another goroutine sends on ch.
func outcome[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(takeWait):
		t.Fatalf("the call did not return within %v", takeWait)
	}
	panic("unreachable")
}

// notYet checks that a call that should be waiting has not returned,
// giving it a moment to do so wrongly: an absence cannot be polled for.
func notYet[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("a call that should wait returned %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
}
