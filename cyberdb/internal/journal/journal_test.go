package journal

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestAppendOrderAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.cdb.log")
	j := openTest(t, Options{Path: path})
	for i := 1; i <= 100; i++ {
		if lsn := j.Append(rec(i)); lsn != uint64(i) {
			t.Fatalf("Append %d got LSN %d", i, lsn)
		}
	}
	if err := wait(t, j, 100); err != nil {
		t.Fatal(err)
	}
	if j.Durable() != 100 || j.Last() != 100 || j.Err() != nil {
		t.Fatalf("Durable %d Last %d Err %v, want 100 100 nil", j.Durable(), j.Last(), j.Err())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2 := openTest(t, Options{Path: path})
	if got := j2.Append(rec(101)); got != 101 {
		t.Fatalf("after reopen, Append got LSN %d, want 101", got)
	}
	if err := j2.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, path, 0)
	if err != nil || last != 101 {
		t.Fatalf("Replay: last %d, err %v", last, err)
	}
	wantRecords(t, got, 1, 101)
}

func TestConcurrentAppendWait(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	const writers, each = 16, 100
	var mu sync.Mutex
	seen := map[uint64]string{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r := rec(w*each + i)
				lsn := j.Append(r)
				if err := wait(t, j, lsn); err != nil {
					t.Error(err)
					return
				}
				if d := j.Durable(); d < lsn {
					t.Errorf("Wait(%d) returned with Durable %d", lsn, d)
				}
				mu.Lock()
				seen[lsn] = string(r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	path := j.path
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, path, 0)
	if err != nil || last != writers*each {
		t.Fatalf("Replay: last %d, err %v", last, err)
	}
	for lsn, r := range seen {
		if got[lsn] != r {
			t.Fatalf("LSN %d: replayed %q, appended %q", lsn, got[lsn], r)
		}
	}
	t.Logf("%d records in %d commits", writers*each, j.commits.Load())
}

func TestIntervalBatches(t *testing.T) {
	j := openTest(t, Options{NoSync: true, Interval: 50 * time.Millisecond})
	var lsn uint64
	for i := 1; i <= 500; i++ {
		lsn = j.Append(rec(i))
	}
	if d := j.Durable(); d == 500 {
		t.Logf("committed before the first tick")
	}
	if err := wait(t, j, lsn); err != nil {
		t.Fatal(err)
	}
	if n := j.commits.Load(); n > 2 {
		t.Fatalf("500 records took %d commits, want 1 or 2", n)
	}
}

func TestIntervalWaitsForTick(t *testing.T) {
	j := openTest(t, Options{NoSync: true, Interval: time.Hour})
	lsn := j.Append(rec(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := j.Wait(ctx, lsn); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait before the tick: %v, want DeadlineExceeded", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err := replayAll(t, j.path, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRecords(t, got, 1, 1)
}

func TestSyncInIntervalMode(t *testing.T) {
	j := openTest(t, Options{NoSync: true, Interval: time.Hour})
	for i := 1; i <= 10; i++ {
		j.Append(rec(i))
	}
	syncTo(t, j, 10, 1)
	syncTo(t, j, 10, 1) // nothing pending
}

func TestWaitEdgeCases(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	if err := wait(t, j, 0); err != nil {
		t.Fatalf("Wait(0): %v", err)
	}
	if err := wait(t, j, 5); err == nil {
		t.Fatal("Wait for an unassigned LSN succeeded")
	}
}

func TestCloseIdempotent(t *testing.T) {
	j := openTest(t, Options{NoSync: true, Interval: time.Hour})
	lsn := j.Append(rec(1))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := j.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := wait(t, j, lsn); err != nil {
		t.Fatalf("Wait for a record committed by Close: %v", err)
	}
	late := j.Append(rec(2))
	if err := wait(t, j, late); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: %v, want ErrClosed", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDiscardAndSetNext(t *testing.T) {
	j := openTest(t, Options{NoSync: true, Interval: time.Hour})
	j.SetNext(41)
	lsn := j.Append(rec(42))
	if lsn != 42 {
		t.Fatalf("after SetNext(41), Append got %d", lsn)
	}
	j.mu.Lock()
	b := j.cur
	j.mu.Unlock()
	if d := j.Discard(); d != 41 {
		t.Fatalf("Discard returned %d, want 41", d)
	}
	<-b.done
	if !errors.Is(b.err, ErrDiscarded) {
		t.Fatalf("Wait of a discarded record: %v, want ErrDiscarded", b.err)
	}
	if lsn := j.Append(rec(42)); lsn != 42 {
		t.Fatalf("after Discard, Append got %d, want 42", lsn)
	}
	j.SetNext(10) // lower: ignored
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, j.path, 41)
	if err != nil || last != 42 {
		t.Fatalf("Replay: last %d, err %v", last, err)
	}
	wantRecords(t, got, 42, 42)
}

func TestTrim(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	const n = 12300
	for i := 1; i <= n; i++ {
		j.Append(rec(i))
	}
	if err := wait(t, j, n); err != nil {
		t.Fatal(err)
	}
	for _, upto := range []uint64{0, 5, 8193, n + 100} {
		if err := j.Trim(upto); err != nil {
			t.Fatal(err)
		}
		wantRecords(t, stored(t, j), int(min(upto, n))+1, n)
	}
	if lsn := j.Append(rec(n + 1)); lsn != n+1 {
		t.Fatalf("after trimming all, Append got %d", lsn)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, j.path, n)
	if err != nil || last != n+1 {
		t.Fatalf("Replay after Trim: last %d, err %v", last, err)
	}
	wantRecords(t, got, n+1, n+1)
}

// TestTrimKeepsLargeTail checks that Trim keeps the file when it would
// copy much more than it drops, and that the log still replays.
func TestTrimKeepsLargeTail(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	big := make([]byte, 1000)
	const n = 3 * trimCopyMax / 1000
	for range n {
		j.Append(big)
	}
	if err := wait(t, j, n); err != nil {
		t.Fatal(err)
	}
	if err := j.Trim(10); err != nil {
		t.Fatal(err)
	}
	if got := len(stored(t, j)); got != n {
		t.Fatalf("Trim(10) of %d large records left %d, want the file kept", n, got)
	}
	if err := j.Trim(n - 10); err != nil {
		t.Fatal(err)
	}
	if got := len(stored(t, j)); got != 10 {
		t.Fatalf("Trim(%d) left %d records, want 10", n-10, got)
	}
	last, err := j.ReplayOpen(5, func(uint64, []byte) error { return nil })
	if err == nil || last != 5 {
		t.Fatalf("ReplayOpen after a trim past its start: last %d, err %v; want a gap", last, err)
	}
	if last, err := j.ReplayOpen(n-10, func(uint64, []byte) error { return nil }); err != nil || last != n {
		t.Fatalf("ReplayOpen: last %d, err %v", last, err)
	}
}

// TestLock checks that a second Open of a log fails within its timeout,
// also after Trim replaced the file, while Replay still reads it.
func TestLock(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	for i := 1; i <= 10; i++ {
		j.Append(rec(i))
	}
	if err := wait(t, j, 10); err != nil {
		t.Fatal(err)
	}
	for _, trim := range []bool{false, true} {
		if trim {
			if err := j.Trim(4); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		if j2, err := Open(Options{Path: j.path, Timeout: 50 * time.Millisecond}); err == nil {
			_ = j2.Close()
			t.Fatal("a second Open of a held log succeeded")
		} else if d := time.Since(start); d > time.Second {
			t.Fatalf("a second Open failed after %v", d)
		} else {
			t.Log(err)
		}
		got, last, err := replayAll(t, j.path, 4)
		if err != nil || last != 10 {
			t.Fatalf("Replay of a held log: last %d, err %v", last, err)
		}
		wantRecords(t, got, 5, 10)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2 := openTest(t, Options{Path: j.path, NoSync: true})
	if j2.Last() != 10 {
		t.Fatalf("reopened after Trim: Last %d, want 10", j2.Last())
	}
}

func TestTrimWhileCommitting(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= 2000; i++ {
			if err := wait(t, j, j.Append(rec(i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for j.Durable() < 2000 && !t.Failed() {
		if err := j.Trim(j.Durable() / 2); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := j.Trim(1000); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, stored(t, j), 1001, 2000)
}

func TestTruncate(t *testing.T) {
	j := openTest(t, Options{NoSync: true})
	for i := 1; i <= 20; i++ {
		j.Append(rec(i))
	}
	if err := wait(t, j, 20); err != nil {
		t.Fatal(err)
	}
	if err := j.Truncate(12); err != nil {
		t.Fatal(err)
	}
	if j.Durable() != 12 || j.Last() != 12 {
		t.Fatalf("after Truncate(12): Durable %d Last %d", j.Durable(), j.Last())
	}
	if err := wait(t, j, j.Append(rec(13))); err != nil {
		t.Fatal(err)
	}
	wantRecords(t, stored(t, j), 1, 13)
}

// The records appended within the delay after the first share its commit,
// which comes no sooner than the delay.
func TestDelayWaitsThenCommits(t *testing.T) {
	const delay = 100 * time.Millisecond
	j := openTest(t, Options{NoSync: true, Delay: delay})
	start := time.Now()
	var lsn uint64
	for i := 1; i <= 20; i++ {
		lsn = j.Append(rec(i))
	}
	if err := wait(t, j, lsn); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < delay {
		t.Fatalf("committed %v after the first record, before the %v delay", el, delay)
	}
	if n := j.commits.Load(); n != 1 {
		t.Fatalf("20 records took %d commits, want 1", n)
	}
}

func TestSyncCutsDelayShort(t *testing.T) {
	j := openTest(t, Options{NoSync: true, Delay: time.Hour})
	for i := 1; i <= 10; i++ {
		j.Append(rec(i))
	}
	if d := j.Durable(); d != 0 {
		t.Fatalf("Durable %d within the delay, want 0", d)
	}
	syncTo(t, j, 10, 1)
	syncTo(t, j, j.Append(rec(11)), 2)
}
