//go:build linux

package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// smallTmpfs mounts a 256 KiB tmpfs for the test, or skips it.
func smallTmpfs(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	return dir
}

func TestDiskFull(t *testing.T) {
	dir := smallTmpfs(t)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 96<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	j := openTest(t, Options{Path: filepath.Join(dir, "data.cdb.log")})
	big := bytes.Repeat([]byte("x"), 2000)
	var failed uint64
	for i := 0; i < 1000 && failed == 0; i++ {
		lsn := j.Append(big)
		err := wait(t, j, lsn)
		switch {
		case err == nil:
		case !errors.Is(err, ErrCommit) || !errors.Is(err, syscall.ENOSPC):
			t.Fatalf("Wait(%d): %v, want ErrCommit wrapping ENOSPC", lsn, err)
		default:
			failed = lsn
			t.Log(err)
		}
	}
	if failed == 0 {
		t.Fatal("the disk never filled")
	}
	if err := j.Err(); !errors.Is(err, ErrCommit) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Err() = %v, want ErrCommit wrapping ENOSPC", err)
	}
	// A Wait that begins after the commit failed gets its error too.
	if err := wait(t, j, failed); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Wait(%d) after the failure: %v, want the commit error", failed, err)
	}
	durable := j.Durable()
	if durable != failed-1 {
		t.Fatalf("Durable %d after LSN %d failed", durable, failed)
	}
	// A record appended while the commit is failed waits for Discard.
	stuck := j.Append(big)
	j.mu.Lock()
	b := j.cur
	j.mu.Unlock()
	if got := j.Discard(); got != durable || j.Last() != durable {
		t.Fatalf("Discard returned %d, Last %d; want %d", got, j.Last(), durable)
	}
	<-b.done
	if !errors.Is(b.err, syscall.ENOSPC) {
		t.Fatalf("record %d dropped by Discard: %v, want the commit error", stuck, b.err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	lsn := j.Append(rec(int(durable + 1)))
	if lsn != durable+1 {
		t.Fatalf("after Discard, Append got %d, want %d", lsn, durable+1)
	}
	if err := wait(t, j, lsn); err != nil {
		t.Fatalf("commit after freeing space: %v", err)
	}
	if j.Err() != nil {
		t.Fatalf("Err() = %v after a successful commit", j.Err())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, j.path, durable)
	if err != nil || last != lsn {
		t.Fatalf("Replay: last %d, err %v", last, err)
	}
	wantRecords(t, got, int(lsn), int(lsn))
}

func TestDiskFullInterval(t *testing.T) {
	dir := smallTmpfs(t)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 96<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	j := openTest(t, Options{Path: filepath.Join(dir, "data.cdb.log"), Interval: 5 * time.Millisecond})
	big := bytes.Repeat([]byte("y"), 2000)
	var lsn uint64
	for i := 0; i < 1000 && j.Err() == nil; i++ {
		lsn = j.Append(big)
		if err := wait(t, j, lsn); err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Wait(%d): %v, want nil or ENOSPC", lsn, err)
		}
	}
	if err := j.Err(); !errors.Is(err, ErrCommit) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Err() = %v, want ErrCommit wrapping ENOSPC", err)
	}
	// The records stay buffered and the committer keeps retrying.
	if j.Durable() >= lsn || j.Last() != lsn {
		t.Fatalf("Durable %d Last %d after LSN %d failed", j.Durable(), j.Last(), lsn)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, j, lsn); err != nil {
		t.Fatalf("retry after freeing space: %v", err)
	}
	if j.Err() != nil || j.Durable() != lsn {
		t.Fatalf("after the retry: Err %v, Durable %d, want nil, %d", j.Err(), j.Durable(), lsn)
	}
}
