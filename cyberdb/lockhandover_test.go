package cyberdb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// A graceful handover keeps the locks of the clients, which live on and
// attach to the next leader, and releases the closing leader's own.
func TestLock_GracefulHandover(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	a := openLeaderWith(t, dir, func(o *cyberdb.Options) { o.Durability = cyberdb.Always })
	b := openClient(t, dir)
	theirs, err := b.TryLock(ctx, "client's", time.Minute)
	must(t, err)
	_, err = a.TryLock(ctx, "leader's", time.Minute)
	must(t, err)
	must(t, a.Close())
	ctest.Eventually(t, 10*time.Second, "the client takes over", b.IsLeader)
	if _, err := b.TryLock(ctx, "client's", time.Minute); !errors.Is(err, cyberdb.ErrLocked) {
		t.Fatalf("the client's lock after the handover: TryLock = %v, want ErrLocked", err)
	}
	must(t, theirs.Refresh(ctx))
	mine, err := b.TryLock(ctx, "leader's", time.Minute)
	if err != nil {
		t.Fatalf("the closed leader's lock is still held: %v", err)
	}
	if mine.Token() <= theirs.Token() {
		t.Fatalf("token %d after the handover is not above %d", mine.Token(), theirs.Token())
	}
	must(t, theirs.Unlock(ctx))
}
