package cyberdb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// Many keys that expire together are all removed soon after their
// deadline, by the leader, without any reader: the watch sees an
// EventExpire for each.
func TestTTL_ManyKeysRemovedOnTime(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 5_000
	}
	db := openLeader(t, ctest.Dir(t))
	ctx := testCtx(t)
	d, err := db.CreateDict(ctx, "sessions")
	must(t, err)
	ttl := 500 * time.Millisecond
	must(t, d.SetDefaultTTL(ctx, ttl))
	m := make(map[string]int, n)
	for i := range n {
		m[fmt.Sprintf("s%06d", i)] = i
	}
	must(t, d.SetTTL(ctx, "marker", 0, time.Hour))
	from, _, err := d.GetVersion(ctx, "marker", nil)
	must(t, err)
	events := db.Watch(ctx, "sessions", &cyberdb.WatchOptions{From: from}) // every change after the marker
	start := time.Now()
	must(t, d.SetMany(ctx, m))
	deadline := start.Add(ttl)
	expired := 0
	for ev, err := range events {
		must(t, err)
		if ev.Type == cyberdb.EventExpire {
			expired++
		}
		if expired == n {
			break
		}
	}
	lag := time.Since(deadline)
	t.Logf("%d keys removed %v after their deadline", n, lag)
	if lag > 10*time.Second {
		t.Fatalf("the last of %d keys was removed %v after its deadline", n, lag)
	}
	if got, err := d.Len(ctx); err != nil || got != 1 {
		t.Fatalf("Len = %d, %v after every key but the marker expired", got, err)
	}
}
