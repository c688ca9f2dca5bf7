package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// listOf returns the elements of l as strings.
func listOf(t *testing.T, l *cyberdb.List) []string {
	t.Helper()
	var out []string
	must(t, l.ToSlice(testCtx(t), &out))
	return out
}

// listLen returns the length of l.
func listLen(t *testing.T, l *cyberdb.List) int {
	t.Helper()
	n, err := l.Len(testCtx(t))
	must(t, err)
	return n
}

// taken is the outcome of a blocking take.
type taken struct {
	v   string
	err error
}

// popAsync runs PopWait in a goroutine.
func popAsync(ctx context.Context, l *cyberdb.List, from cyberdb.Side) <-chan taken {
	ch := make(chan taken, 1)
	go func() {
		var s string
		err := l.PopWait(ctx, from, &s)
		ch <- taken{s, err}
	}()
	return ch
}

// moveAsync runs src.MoveWait(ctx, dst, Front, Back) on a goroutine and
// delivers its outcome.
func moveAsync(ctx context.Context, src, dst *cyberdb.List) <-chan taken {
	ch := make(chan taken, 1)
	go func() {
		var s string
		err := src.MoveWait(ctx, dst, cyberdb.Front, cyberdb.Back, &s)
		ch <- taken{s, err}
	}()
	return ch
}

// raceCancel appends element i to l and calls cancel, each after a random
// delay of up to 1 ms, so that the waiting call whose outcome ch delivers
// races the two; it returns that outcome once both have happened.
func raceCancel(t *testing.T, ctx context.Context, r *rand.Rand, l *cyberdb.List, i int, cancel context.CancelFunc, ch <-chan taken) taken {
	t.Helper()
	appendDelay := time.Duration(r.IntN(1000)) * time.Microsecond
	cancelDelay := time.Duration(r.IntN(1000)) * time.Microsecond
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		time.Sleep(appendDelay)
		if err := l.Append(ctx, fmt.Sprint(i)); err != nil {
			t.Errorf("Append: %v", err)
		}
	})
	time.Sleep(cancelDelay)
	cancel()
	return outcome(t, ch)
}

func TestQueue_PopWait_WaitsForAppend(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		for _, from := range []cyberdb.Side{cyberdb.Front, cyberdb.Back} {
			ch := popAsync(ctx, l, from)
			notYet(t, ch)
			must(t, l.Append(ctx, "job"))
			if r := outcome(t, ch); r.err != nil || r.v != "job" {
				t.Fatalf("PopWait(%d) = %q, %v; want job", from, r.v, r.err)
			}
			if n := listLen(t, l); n != 0 {
				t.Fatalf("Len after PopWait = %d", n)
			}
		}
		// Another DB's append wakes it too.
		peer := openClient(t, db.Dir())
		pl, err := peer.List(ctx, "q")
		must(t, err)
		ch := popAsync(ctx, l, cyberdb.Front)
		notYet(t, ch)
		must(t, pl.Extend(ctx, []string{"a", "b"}))
		if r := outcome(t, ch); r.err != nil || r.v != "a" {
			t.Fatalf("PopWait = %q, %v; want a", r.v, r.err)
		}
		if got := listOf(t, l); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("list = %q, want [b]", got)
		}
	})
}

func TestQueue_PopWait_Ends(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q", []string{"f", "m", "b"})
		must(t, err)
		var s string
		must(t, l.PopWait(ctx, cyberdb.Front, &s))
		if s != "f" {
			t.Fatalf("PopWait(Front) = %q, want f", s)
		}
		must(t, l.PopWait(ctx, cyberdb.Back, &s))
		if s != "b" {
			t.Fatalf("PopWait(Back) = %q, want b", s)
		}
		must(t, l.PopWait(ctx, cyberdb.Front, nil)) // nil dst drops the element
		if n := listLen(t, l); n != 0 {
			t.Fatalf("Len = %d, want 0", n)
		}
		// A value that does not decode into dst is still taken.
		must(t, l.Append(ctx, "text"))
		var n int
		if err := l.PopWait(ctx, cyberdb.Front, &n); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("PopWait of a string into an int = %v, want ErrWrongType", err)
		}
	})
}

func TestQueue_PopWait_Deadline(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = l.PopWait(tctx, cyberdb.Front, nil)
		el := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PopWait past its deadline = %v, want context.DeadlineExceeded", err)
		}
		if el < 90*time.Millisecond || el > 2*time.Second {
			t.Fatalf("PopWait with a 100ms deadline returned after %v", el)
		}
		// The call is over: it takes nothing appended afterwards.
		must(t, l.Append(ctx, "late"))
		if n := listLen(t, l); n != 1 {
			t.Fatalf("Len after a timed-out PopWait and an Append = %d, want 1", n)
		}
		var s string
		must(t, l.PopWait(ctx, cyberdb.Front, &s))
		if s != "late" {
			t.Fatalf("PopWait = %q, want late", s)
		}
		// An ended context fails at once.
		cctx, cancel2 := context.WithCancel(ctx)
		cancel2()
		if err := l.PopWait(cctx, cyberdb.Front, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("PopWait under a canceled context = %v, want context.Canceled", err)
		}
	})
}

func TestQueue_PopWait_CancelWhileWaiting(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		cctx, cancel := context.WithCancel(ctx)
		ch := popAsync(cctx, l, cyberdb.Front)
		notYet(t, ch)
		start := time.Now()
		cancel()
		r := outcome(t, ch)
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("canceled PopWait = %q, %v; want context.Canceled", r.v, r.err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("canceled PopWait took %v to return", el)
		}
		must(t, l.Append(ctx, "x"))
		if n := listLen(t, l); n != 1 {
			t.Fatalf("Len = %d after a canceled PopWait, want 1", n)
		}
	})
}

func TestQueue_PopWait_ManyWaitersManyProducers(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		peer := openClient(t, db.Dir())
		pl, err := peer.List(ctx, "q")
		must(t, err)
		const waiters, producers = 8, 4
		each := 50
		if testing.Short() {
			each = 20
		}
		total := producers * each

		wctx, stop := context.WithCancel(ctx)
		defer stop()
		var mu sync.Mutex // protects got
		got := map[int]int{}
		var received atomic.Int64
		allIn := make(chan struct{})
		var wg sync.WaitGroup
		for w := range waiters {
			lw := l
			if w%2 == 1 {
				lw = pl
			}
			side := cyberdb.Side(-(w % 2)) // Front and Back
			wg.Go(func() {
				for {
					var v int
					err := lw.PopWait(wctx, side, &v)
					if err != nil {
						if wctx.Err() == nil {
							t.Errorf("PopWait: %v", err)
						}
						return
					}
					mu.Lock()
					got[v]++
					mu.Unlock()
					if received.Add(1) == int64(total) {
						close(allIn)
					}
				}
			})
		}
		var pg sync.WaitGroup
		for p := range producers {
			lp := l
			if p%2 == 1 {
				lp = pl
			}
			pg.Go(func() {
				for i := range each {
					if err := lp.Append(ctx, p*each+i); err != nil {
						t.Errorf("Append: %v", err)
						return
					}
				}
			})
		}
		pg.Wait()
		select {
		case <-allIn:
		case <-time.After(takeWait):
			t.Errorf("waiters received %d of %d elements", received.Load(), total)
		}
		stop()
		wg.Wait()
		if n := received.Load(); n != int64(total) {
			t.Fatalf("received %d elements, want %d", n, total)
		}
		for v := range total {
			if got[v] != 1 {
				t.Errorf("element %d received %d times", v, got[v])
			}
		}
		if n := listLen(t, l); n != 0 {
			t.Fatalf("%d elements left", n)
		}
	})
}

func TestQueue_PopWait_CancelRaceLosesNothing(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		rounds := 200
		if testing.Short() {
			rounds = 50
		}
		r := rand.New(rand.NewPCG(1, 2))
		received, left := 0, 0
		for i := range rounds {
			cctx, cancel := context.WithCancel(ctx)
			ch := popAsync(cctx, l, cyberdb.Front)
			res := raceCancel(t, ctx, r, l, i, cancel, ch)
			switch {
			case res.err == nil:
				if res.v != fmt.Sprint(i) {
					t.Fatalf("round %d: PopWait = %q", i, res.v)
				}
				received++
			case !errors.Is(res.err, context.Canceled):
				t.Fatalf("round %d: PopWait = %v, want nil or context.Canceled", i, res.err)
			}
			// Nothing is still waiting: what was not received is there.
			n := listLen(t, l)
			if n+boolInt(res.err == nil) != 1 {
				t.Fatalf("round %d: PopWait returned %q, %v and the list holds %d elements: want exactly one of them", i, res.v, res.err, n)
			}
			if n == 1 {
				left++
				must(t, l.Pop(ctx, 0, nil))
			}
		}
		t.Logf("%d rounds: %d received, %d left", rounds, received, left)
	})
}

// boolInt is 1 for true, else 0.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestQueue_MoveWait_IntoInProgress(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		jobs, err := db.CreateList(ctx, "jobs")
		must(t, err)
		busy, err := db.CreateList(ctx, "busy", []string{"older"})
		must(t, err)
		ch := make(chan taken, 1)
		go func() {
			var s string
			err := jobs.MoveWait(ctx, busy, cyberdb.Front, cyberdb.Back, &s)
			ch <- taken{s, err}
		}()
		notYet(t, ch)
		must(t, jobs.Extend(ctx, []string{"j1", "j2"}))
		if r := outcome(t, ch); r.err != nil || r.v != "j1" {
			t.Fatalf("MoveWait = %q, %v; want j1", r.v, r.err)
		}
		if got := listOf(t, jobs); !slices.Equal(got, []string{"j2"}) {
			t.Fatalf("jobs = %q, want [j2]", got)
		}
		if got := listOf(t, busy); !slices.Equal(got, []string{"older", "j1"}) {
			t.Fatalf("busy = %q, want [older j1]", got)
		}
		// Done with j1: remove it from the in-progress list.
		must(t, busy.Remove(ctx, "j1"))

		// Back to Front.
		var s string
		must(t, jobs.MoveWait(ctx, busy, cyberdb.Back, cyberdb.Front, &s))
		if s != "j2" {
			t.Fatalf("MoveWait = %q, want j2", s)
		}
		if got := listOf(t, busy); !slices.Equal(got, []string{"j2", "older"}) {
			t.Fatalf("busy = %q, want [j2 older]", got)
		}

		// The same list: a rotation.
		ring, err := db.CreateList(ctx, "ring", []string{"1", "2", "3"})
		must(t, err)
		must(t, ring.MoveWait(ctx, ring, cyberdb.Front, cyberdb.Back, &s))
		if got := listOf(t, ring); s != "1" || !slices.Equal(got, []string{"2", "3", "1"}) {
			t.Fatalf("rotation moved %q: %q, want 1: [2 3 1]", s, got)
		}
		must(t, ring.MoveWait(ctx, ring, cyberdb.Back, cyberdb.Front, &s))
		if got := listOf(t, ring); s != "1" || !slices.Equal(got, []string{"1", "2", "3"}) {
			t.Fatalf("rotation back moved %q: %q, want 1: [1 2 3]", s, got)
		}
	})
}

func TestQueue_MoveWait_Deadline(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		jobs, err := db.CreateList(ctx, "jobs")
		must(t, err)
		busy, err := db.CreateList(ctx, "busy")
		must(t, err)
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if err := jobs.MoveWait(tctx, busy, cyberdb.Front, cyberdb.Back, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("MoveWait past its deadline = %v, want context.DeadlineExceeded", err)
		}
		must(t, jobs.Append(ctx, "late"))
		if a, b := listLen(t, jobs), listLen(t, busy); a != 1 || b != 0 {
			t.Fatalf("after a timed-out MoveWait and an Append: jobs %d, busy %d; want 1, 0", a, b)
		}
	})
}

func TestQueue_MoveWait_CancelRace(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		jobs, err := db.CreateList(ctx, "jobs")
		must(t, err)
		busy, err := db.CreateList(ctx, "busy")
		must(t, err)
		rounds := 200
		if testing.Short() {
			rounds = 50
		}
		r := rand.New(rand.NewPCG(3, 4))
		for i := range rounds {
			cctx, cancel := context.WithCancel(ctx)
			ch := moveAsync(cctx, jobs, busy)
			res := raceCancel(t, ctx, r, jobs, i, cancel, ch)
			inJobs, inBusy := listLen(t, jobs), listLen(t, busy)
			// Moved exactly when MoveWait says so.
			if res.err == nil && (res.v != fmt.Sprint(i) || inJobs != 0 || inBusy != 1) ||
				res.err != nil && (!errors.Is(res.err, context.Canceled) || inJobs != 1 || inBusy != 0) {
				t.Fatalf("round %d: MoveWait = %q, %v; jobs holds %d, busy %d", i, res.v, res.err, inJobs, inBusy)
			}
			must(t, jobs.Clear(ctx))
			must(t, busy.Clear(ctx))
		}
	})
}

func TestQueue_Move_NonBlocking(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		src, err := db.CreateList(ctx, "src")
		must(t, err)
		dst, err := db.CreateList(ctx, "dst", []string{"d"})
		must(t, err)
		start := time.Now()
		var s string
		if ok, err := src.Move(ctx, dst, cyberdb.Front, cyberdb.Back, &s); err != nil || ok {
			t.Fatalf("Move from an empty list = %v, %v; want false", ok, err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("Move from an empty list took %v", el)
		}
		if got := listOf(t, dst); !slices.Equal(got, []string{"d"}) {
			t.Fatalf("dst = %q after a Move of nothing", got)
		}
		must(t, src.Extend(ctx, []string{"1", "2", "3"}))
		moves := []struct {
			from, at cyberdb.Side
			want     string
			dst      []string
		}{
			{cyberdb.Back, cyberdb.Front, "3", []string{"3", "d"}},
			{cyberdb.Front, cyberdb.Back, "1", []string{"3", "d", "1"}},
			{cyberdb.Front, cyberdb.Front, "2", []string{"2", "3", "d", "1"}},
		}
		for _, m := range moves {
			ok, err := src.Move(ctx, dst, m.from, m.at, &s)
			if err != nil || !ok || s != m.want {
				t.Fatalf("Move(%d, %d) = %v %q, %v; want %q", m.from, m.at, ok, s, err, m.want)
			}
			if got := listOf(t, dst); !slices.Equal(got, m.dst) {
				t.Fatalf("dst = %q, want %q", got, m.dst)
			}
		}
		if ok, err := src.Move(ctx, dst, cyberdb.Front, cyberdb.Back, nil); err != nil || ok {
			t.Fatalf("Move from the emptied list = %v, %v", ok, err)
		}
	})
}

func TestQueue_InvalidArguments(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "l", []string{"keep"})
		must(t, err)
		o, err := db.CreateList(ctx, "o")
		must(t, err)
		foreign, err := openLeader(t, ctest.Dir(t)).CreateList(ctx, "o")
		must(t, err)
		bad := []cyberdb.Side{1, -2, 5}
		errs := map[string]error{}
		for _, s := range bad {
			errs[fmt.Sprint("PopWait ", s)] = l.PopWait(ctx, s, nil)
			errs[fmt.Sprint("MoveWait from ", s)] = l.MoveWait(ctx, o, s, cyberdb.Back, nil)
			errs[fmt.Sprint("MoveWait at ", s)] = l.MoveWait(ctx, o, cyberdb.Front, s, nil)
			_, errs[fmt.Sprint("Move from ", s)] = l.Move(ctx, o, s, cyberdb.Back, nil)
			_, errs[fmt.Sprint("Move at ", s)] = l.Move(ctx, o, cyberdb.Front, s, nil)
		}
		errs["MoveWait to nil"] = l.MoveWait(ctx, nil, cyberdb.Front, cyberdb.Back, nil)
		_, errs["Move to nil"] = l.Move(ctx, nil, cyberdb.Front, cyberdb.Back, nil)
		errs["MoveWait to another DB"] = l.MoveWait(ctx, foreign, cyberdb.Front, cyberdb.Back, nil)
		_, errs["Move to another DB"] = l.Move(ctx, foreign, cyberdb.Front, cyberdb.Back, nil)
		refusedKeeping(t, errs, cyberdb.ErrInvalid, l)
	})
}

// refusedKeeping checks that every call of errs failed with target and
// that the list l still holds its one element, "keep".
func refusedKeeping(t *testing.T, errs map[string]error, target error, l *cyberdb.List) {
	t.Helper()
	for name, err := range errs {
		if !errors.Is(err, target) {
			t.Errorf("%s = %v, want %v", name, err, target)
		}
	}
	if got := listOf(t, l); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("the list = %q, want [keep]: a refused call changed it", got)
	}
}

func TestQueue_MissingTable(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "l", []string{"keep"})
		must(t, err)
		gone, err := db.CreateList(ctx, "gone")
		must(t, err)
		must(t, db.DropTable(ctx, "gone"))
		tctx, cancel := context.WithTimeout(ctx, takeWait)
		defer cancel()
		errs := map[string]error{}
		errs["PopWait"] = gone.PopWait(tctx, cyberdb.Front, nil)
		errs["MoveWait from"] = gone.MoveWait(tctx, l, cyberdb.Front, cyberdb.Back, nil)
		errs["MoveWait to"] = l.MoveWait(tctx, gone, cyberdb.Front, cyberdb.Back, nil)
		_, errs["Move from"] = gone.Move(tctx, l, cyberdb.Front, cyberdb.Back, nil)
		_, errs["Move to"] = l.Move(tctx, gone, cyberdb.Front, cyberdb.Back, nil)
		refusedKeeping(t, errs, cyberdb.ErrNoTable, l)
	})
}

func TestQueue_PopWait_TableDroppedWhileWaiting(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		ch := popAsync(ctx, l, cyberdb.Front)
		notYet(t, ch)
		must(t, db.DropTable(ctx, "q"))
		if r := outcome(t, ch); !errors.Is(r.err, cyberdb.ErrNoTable) {
			t.Fatalf("PopWait on a list dropped meanwhile = %q, %v; want ErrNoTable", r.v, r.err)
		}
	})
}

func TestQueue_PopWait_WrongKind(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "x")
		must(t, err)
		must(t, db.DropTable(ctx, "x"))
		_, err = db.CreateDict(ctx, "x")
		must(t, err)
		tctx, cancel := context.WithTimeout(ctx, takeWait)
		defer cancel()
		if err := l.PopWait(tctx, cyberdb.Front, nil); !errors.Is(err, cyberdb.ErrWrongType) {
			t.Fatalf("PopWait on a dict = %v, want ErrWrongType", err)
		}
	})
}

func TestQueue_ClosedDB(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		l, err := db.CreateList(ctx, "q")
		must(t, err)
		ch := popAsync(ctx, l, cyberdb.Front)
		notYet(t, ch)
		must(t, db.Close())
		if r := outcome(t, ch); !errors.Is(r.err, cyberdb.ErrClosed) {
			t.Fatalf("PopWait when its DB closes = %q, %v; want ErrClosed", r.v, r.err)
		}
		if err := l.PopWait(ctx, cyberdb.Front, nil); !errors.Is(err, cyberdb.ErrClosed) {
			t.Fatalf("PopWait after Close = %v, want ErrClosed", err)
		}
	})
}

func TestQueue_MoveWait_DestinationDropped(t *testing.T) {
	inBothRoles(t, func(t *testing.T, db *cyberdb.DB) {
		ctx := testCtx(t)
		jobs, err := db.CreateList(ctx, "jobs")
		must(t, err)
		busy, err := db.CreateList(ctx, "busy")
		must(t, err)
		ch := make(chan taken, 1)
		go func() {
			var s string
			err := jobs.MoveWait(ctx, busy, cyberdb.Front, cyberdb.Back, &s)
			ch <- taken{s, err}
		}()
		notYet(t, ch)
		must(t, db.DropTable(ctx, "busy"))
		must(t, jobs.Append(ctx, "job"))
		if r := outcome(t, ch); !errors.Is(r.err, cyberdb.ErrNoTable) {
			t.Fatalf("MoveWait to a list dropped meanwhile = %q, %v; want ErrNoTable", r.v, r.err)
		}
		if got := listOf(t, jobs); !slices.Equal(got, []string{"job"}) {
			t.Fatalf("jobs = %q, want [job]: the failed move must leave the element", got)
		}
	})
}
