package cyberdb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// TestDB_OnRoleChange closes a leader gracefully: its client must take
// over, report it through OnRoleChange, and still hold every write.
func TestDB_OnRoleChange(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	leader, err := cyberdb.Open(dir, testOptions())
	must(t, err)
	roles := make(chan bool, 4)
	o := testOptions()
	o.OnRoleChange = func(leading bool) { roles <- leading }
	client, err := cyberdb.Open(dir, o)
	must(t, err)
	t.Cleanup(func() { client.Close() })
	d, err := client.CreateDict(ctx, "d")
	must(t, err)
	_, err = d.Incr(ctx, "n", 7)
	must(t, err)
	start := time.Now()
	must(t, leader.Close())
	select {
	case leading := <-roles:
		if !leading {
			t.Fatal("OnRoleChange(false) for a client that took over")
		}
	case <-time.After(childTimeout):
		t.Fatal("no OnRoleChange after the leader closed")
	}
	t.Logf("handover took %v", time.Since(start))
	if !client.IsLeader() {
		t.Fatal("IsLeader is false after OnRoleChange(true)")
	}
	n, err := d.Incr(ctx, "n", 1)
	if err != nil || n != 8 {
		t.Fatalf("after handover Incr = %d, %v; want 8", n, err)
	}
}

// TestDurability_NoneLivesWhileOpen hands a None store from one process
// to another, then checks that its memory files go with the last one.
func TestDurability_NoneLivesWhileOpen(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	open := func() *cyberdb.DB {
		o := testOptions()
		o.Durability = cyberdb.None
		db, err := cyberdb.Open(dir, o)
		must(t, err)
		return db
	}
	first, second := open(), open()
	d, err := second.CreateDict(ctx, "d")
	must(t, err)
	_, err = d.Incr(ctx, "n", 3)
	must(t, err)
	must(t, first.Close())
	if n, err := d.Incr(ctx, "n", 1); err != nil || n != 4 {
		t.Fatalf("after the leader left, Incr = %d, %v; want 4", n, err)
	}
	must(t, second.Close())
	third := open()
	defer third.Close()
	if _, err := third.Dict(ctx, "d"); !errors.Is(err, cyberdb.ErrNoTable) {
		t.Fatalf("a None store outlived its last process: %v", err)
	}
}
