package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// longLease outlasts any test, so that only an Unlock or a holder's exit
// frees a lock taken with it.
const longLease = time.Minute

// lockResult is the outcome of a Lock in a goroutine.
type lockResult struct {
	l   *cyberdb.Lock
	err error
}

// lockAsync runs Lock in a goroutine.
func lockAsync(ctx context.Context, db *cyberdb.DB, name string, lease time.Duration) <-chan lockResult {
	ch := make(chan lockResult, 1)
	go func() {
		l, err := db.Lock(ctx, name, lease)
		ch <- lockResult{l, err}
	}()
	return ch
}

// wantLocked checks that TryLock of name fails with ErrLocked.
func wantLocked(t *testing.T, db *cyberdb.DB, name string) {
	t.Helper()
	l, err := db.TryLock(testCtx(t), name, longLease)
	if !errors.Is(err, cyberdb.ErrLocked) || l != nil {
		t.Fatalf("TryLock of a held lock = %v, %v; want ErrLocked", l, err)
	}
}

func TestLock_TryLockIsExclusive(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		l, err := db.TryLock(ctx, "m", longLease)
		must(t, err)
		if l.Name() != "m" || l.Token() == 0 {
			t.Fatalf("lock %q with token %d", l.Name(), l.Token())
		}
		wantLocked(t, db, "m") // not reentrant
		wantLocked(t, peer, "m")
		other, err := peer.TryLock(ctx, "n", longLease) // other names are free
		must(t, err)
		wantLocked(t, db, "n")

		must(t, l.Unlock(ctx))
		l2, err := peer.TryLock(ctx, "m", longLease)
		must(t, err)
		if l2.Token() <= other.Token() || other.Token() <= l.Token() {
			t.Fatalf("tokens %d, %d, %d do not grow", l.Token(), other.Token(), l2.Token())
		}
		wantLocked(t, db, "m")
		must(t, l2.Unlock(ctx))
		must(t, other.Unlock(ctx))
	})
}

func TestLock_UnlockAndRefreshOnceReleased(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.TryLock(ctx, "m", longLease)
		must(t, err)
		must(t, l.Refresh(ctx))
		must(t, l.Unlock(ctx))
		if err := l.Unlock(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("second Unlock = %v, want ErrNotHeld", err)
		}
		if err := l.Refresh(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("Refresh after Unlock = %v, want ErrNotHeld", err)
		}
		// An old Lock cannot release its successor.
		l2, err := db.TryLock(ctx, "m", longLease)
		must(t, err)
		if err := l.Unlock(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("Unlock with an old token = %v, want ErrNotHeld", err)
		}
		wantLocked(t, db, "m")
		must(t, l2.Unlock(ctx))
	})
}

func TestLock_WaitsForUnlock(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		for _, waiter := range []*cyberdb.DB{db, peer} {
			held, err := db.TryLock(ctx, "m", longLease)
			must(t, err)
			ch := lockAsync(ctx, waiter, "m", longLease)
			notYet(t, ch)
			must(t, held.Unlock(ctx))
			r := outcome(t, ch)
			if r.err != nil {
				t.Fatalf("Lock after Unlock: %v", r.err)
			}
			if r.l.Token() <= held.Token() {
				t.Fatalf("token %d after %d", r.l.Token(), held.Token())
			}
			must(t, r.l.Unlock(ctx))
		}
	})
}

func TestLock_LeaseExpiry(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		old, err := db.TryLock(ctx, "m", shortTTL)
		must(t, err)
		wantLocked(t, peer, "m")
		var next *cyberdb.Lock
		ctest.Eventually(t, expiryWait, "the lease to run out", func() bool {
			next, err = peer.TryLock(ctx, "m", longLease)
			if err != nil && !errors.Is(err, cyberdb.ErrLocked) {
				t.Fatal(err)
			}
			return err == nil
		})
		if next.Token() <= old.Token() {
			t.Fatalf("token %d after an expired lease's %d", next.Token(), old.Token())
		}
		if err := old.Unlock(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("Unlock after the lease ran out = %v, want ErrNotHeld", err)
		}
		if err := old.Refresh(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("Refresh after the lease ran out = %v, want ErrNotHeld", err)
		}
		wantLocked(t, db, "m") // the old holder's calls did not free it
		must(t, next.Unlock(ctx))

		// Even with nobody else taking it, a lapsed lease is not held.
		lapsed, err := db.TryLock(ctx, "solo", shortTTL)
		must(t, err)
		// The lease began before TryLock returned, so it is over after this.
		time.Sleep(shortTTL + 10*time.Millisecond)
		if err := lapsed.Refresh(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("Refresh of a lapsed lease = %v, want ErrNotHeld", err)
		}
		if err := lapsed.Unlock(ctx); !errors.Is(err, cyberdb.ErrNotHeld) {
			t.Fatalf("Unlock of a lapsed lease = %v, want ErrNotHeld", err)
		}
	})
}

func TestLock_WaitsForLeaseToRunOut(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		held, err := peer.TryLock(ctx, "m", 2*shortTTL)
		must(t, err)
		start := time.Now()
		r := outcome(t, lockAsync(ctx, db, "m", longLease))
		if r.err != nil {
			t.Fatalf("Lock waiting for a lease to run out: %v", r.err)
		}
		if el := time.Since(start); el < shortTTL {
			t.Fatalf("Lock took a lock with a lease of %v left after %v", 2*shortTTL, el)
		}
		if r.l.Token() <= held.Token() {
			t.Fatalf("token %d after %d", r.l.Token(), held.Token())
		}
	})
}

func TestLock_RefreshExtends(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		const lease = 240 * time.Millisecond
		l, err := db.TryLock(ctx, "m", lease)
		must(t, err)
		// Refresh every 40ms for two and a half leases: it never runs out.
		end := time.Now().Add(lease * 5 / 2)
		tick := time.NewTicker(lease / 6)
		defer tick.Stop()
		for time.Now().Before(end) {
			<-tick.C
			must(t, l.Refresh(ctx))
			wantLocked(t, peer, "m")
		}
		// Left alone, it does.
		ctest.Eventually(t, expiryWait, "the lease to run out", func() bool {
			l2, err := peer.TryLock(ctx, "m", longLease)
			if err == nil {
				must(t, l2.Unlock(ctx))
			}
			return err == nil
		})
	})
}

func TestLock_TokensStrictlyIncrease(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		d, err := db.CreateDict(ctx, "d")
		must(t, err)
		var last uint64
		for i := range 20 {
			who := []*cyberdb.DB{db, peer}[i%2]
			name := []string{"a", "b", "c"}[i%3]
			l, err := who.TryLock(ctx, name, longLease)
			must(t, err)
			if l.Token() <= last {
				t.Fatalf("acquisition %d: token %d after %d", i, l.Token(), last)
			}
			last = l.Token()
			must(t, d.Set(ctx, "k", i)) // other writes in between
			must(t, l.Unlock(ctx))
		}
	})
}

func TestLock_MutualExclusion(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		rounds := 20
		if testing.Short() {
			rounds = 8
		}
		var inside atomic.Int32
		var mu sync.Mutex // protects tokens
		var tokens []uint64
		var wg sync.WaitGroup
		for w := range 8 {
			who := []*cyberdb.DB{db, peer}[w%2]
			wg.Go(func() {
				for range rounds {
					l, err := who.Lock(ctx, "m", longLease)
					if err != nil {
						t.Errorf("Lock: %v", err)
						return
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d holders at once", n)
					}
					mu.Lock()
					tokens = append(tokens, l.Token())
					mu.Unlock()
					inside.Add(-1)
					if err := l.Unlock(ctx); err != nil {
						t.Errorf("Unlock: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if len(tokens) != 8*rounds || !slices.IsSorted(tokens) || len(slices.Compact(slices.Clone(tokens))) != len(tokens) {
			t.Fatalf("tokens in the order of acquisition do not strictly increase: %v", tokens)
		}
	})
}

func TestLock_ContextEnds(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		held, err := peer.TryLock(ctx, "m", longLease)
		must(t, err)
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		l, err := db.Lock(tctx, "m", longLease)
		el := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) || l != nil {
			t.Fatalf("Lock past its deadline = %v, %v; want context.DeadlineExceeded", l, err)
		}
		if el < 90*time.Millisecond || el > 2*time.Second {
			t.Fatalf("Lock with a 100ms deadline returned after %v", el)
		}
		// The waiter is gone: it does not take the lock once it is free.
		must(t, held.Unlock(ctx))
		third := openClient(t, db.Dir())
		l3, err := third.TryLock(ctx, "m", longLease)
		must(t, err)

		// Canceling a waiting Lock ends it.
		cctx, cancel2 := context.WithCancel(ctx)
		ch := lockAsync(cctx, db, "m", longLease)
		notYet(t, ch)
		cancel2()
		if r := outcome(t, ch); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("canceled Lock = %v, %v; want context.Canceled", r.l, r.err)
		}
		must(t, l3.Unlock(ctx))
		// TryLock does not wait, even with time left.
		held, err = peer.TryLock(ctx, "m", longLease)
		must(t, err)
		start = time.Now()
		wantLocked(t, db, "m")
		if el := time.Since(start); el > time.Second {
			t.Fatalf("TryLock of a held lock took %v", el)
		}
		must(t, held.Unlock(ctx))
	})
}

func TestLock_HolderCloseReleases(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		holder := openClient(t, db.Dir())
		_, err := holder.TryLock(ctx, "m", longLease)
		must(t, err)
		_, err = holder.TryLock(ctx, "n", longLease)
		must(t, err)
		wantLocked(t, db, "m")
		must(t, holder.Close())
		start := time.Now()
		// The leases are a minute long: only the release on Close frees them.
		for _, name := range []string{"m", "n"} {
			ctest.Eventually(t, time.Second, "the closed holder's lock "+name+" to be released", func() bool {
				l, err := db.TryLock(ctx, name, longLease)
				if err != nil && !errors.Is(err, cyberdb.ErrLocked) {
					t.Fatal(err)
				}
				return l != nil
			})
		}
		t.Logf("released %v after Close", time.Since(start))
	})
}

func TestLock_WaiterWakesWhenHolderCloses(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		holder := openClient(t, db.Dir())
		_, err := holder.TryLock(ctx, "m", longLease)
		must(t, err)
		ch := lockAsync(ctx, db, "m", longLease)
		notYet(t, ch)
		must(t, holder.Close())
		if r := outcome(t, ch); r.err != nil {
			t.Fatalf("Lock waiting on a holder that closed: %v", r.err)
		}
	})
}

func TestLock_InvalidArguments(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		cases := []struct {
			name  string
			lease time.Duration
		}{{"", longLease}, {"m", 0}, {"m", -time.Second}}
		for _, c := range cases {
			if l, err := db.TryLock(ctx, c.name, c.lease); !errors.Is(err, cyberdb.ErrInvalid) || l != nil {
				t.Errorf("TryLock(%q, %v) = %v, %v; want ErrInvalid", c.name, c.lease, l, err)
			}
			if l, err := db.Lock(ctx, c.name, c.lease); !errors.Is(err, cyberdb.ErrInvalid) || l != nil {
				t.Errorf("Lock(%q, %v) = %v, %v; want ErrInvalid", c.name, c.lease, l, err)
			}
		}
		// The refused calls took nothing.
		l, err := db.TryLock(ctx, "m", longLease)
		must(t, err)
		must(t, l.Unlock(ctx))
	})
}

func TestLock_ClosedDB(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.TryLock(ctx, "m", longLease)
		must(t, err)
		must(t, db.Close())
		if _, err := db.TryLock(ctx, "n", longLease); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("TryLock after Close = %v, want ErrClosed", err)
		}
		if _, err := db.Lock(ctx, "n", longLease); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("Lock after Close = %v, want ErrClosed", err)
		}
		if err := l.Unlock(ctx); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("Unlock after Close = %v, want ErrClosed", err)
		}
		if err := l.Refresh(ctx); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("Refresh after Close = %v, want ErrClosed", err)
		}
	})
}

// handOver closes leader and waits until client has taken over.
func handOver(t *testing.T, leader, client *cyberdb.DB) {
	t.Helper()
	must(t, leader.Close())
	ctest.Eventually(t, 10*time.Second, "the client to take over", client.IsLeader)
}

func TestLock_HeldAcrossHandover(t *testing.T) {
	// A leader that closes gracefully hands the store over; a client's lock
	// must stay its own: its process is alive and still believes it holds
	// it, with a lease a minute long.
	for _, observers := range []int{0, 1} {
		t.Run(fmt.Sprint(observers, " other clients"), func(t *testing.T) {
			dir := ctest.Dir(t)
			ctx := testCtx(t)
			leader := openLeader(t, dir)
			holder := openClient(t, dir)
			observer := holder
			if observers > 0 {
				observer = openClient(t, dir) // it or the holder takes over
			}
			held, err := holder.TryLock(ctx, "m", longLease)
			must(t, err)
			before, err := holder.TryLock(ctx, "before", longLease)
			must(t, err)
			must(t, before.Unlock(ctx))
			must(t, leader.Close())
			ctest.Eventually(t, 10*time.Second, "a client to take over", func() bool {
				return holder.IsLeader() || observer.IsLeader()
			})

			if l, err := observer.TryLock(ctx, "m", longLease); err == nil {
				t.Fatalf("a graceful leader Close released the lock a live client held (taken again with token %d after %d)", l.Token(), held.Token())
			} else if !errors.Is(err, cyberdb.ErrLocked) {
				t.Fatal(err)
			}
			must(t, held.Refresh(ctx))
			must(t, held.Unlock(ctx))
			after, err := observer.TryLock(ctx, "after", longLease)
			must(t, err)
			if after.Token() <= held.Token() || after.Token() <= before.Token() {
				t.Fatalf("token %d after the takeover, not above %d and %d from before", after.Token(), held.Token(), before.Token())
			}
		})
	}
}

func TestLock_LeaderCloseReleases(t *testing.T) {
	dir := ctest.Dir(t)
	ctx := testCtx(t)
	leader := openLeader(t, dir)
	client := openClient(t, dir)
	_, err := leader.TryLock(ctx, "m", longLease)
	must(t, err)
	wantLocked(t, client, "m")
	handOver(t, leader, client)
	// The closed DB's Lock can no longer Unlock (ErrClosed), so only a
	// release on Close frees the lock before its minute-long lease ends,
	// as it does for a client DB that closes (TestLock_HolderCloseReleases).
	l, err := client.TryLock(ctx, "m", longLease)
	if err != nil {
		t.Fatalf("the lock of a leader DB that closed: TryLock = %v; want it released at once", err)
	}
	must(t, l.Unlock(ctx))
}

func TestLock_WaiterEndsWhenDBCloses(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		peer := openClient(t, db.Dir())
		_, err := peer.TryLock(ctx, "m", longLease)
		must(t, err)
		ch := lockAsync(ctx, db, "m", longLease)
		notYet(t, ch)
		must(t, db.Close())
		if r := outcome(t, ch); !errors.Is(r.err, cyberdb.ErrClosed) {
			t.Fatalf("Lock waiting when its DB closes = %v, %v; want ErrClosed", r.l, r.err)
		}
	})
}
