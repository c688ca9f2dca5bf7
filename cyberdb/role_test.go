package cyberdb_test

import (
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
