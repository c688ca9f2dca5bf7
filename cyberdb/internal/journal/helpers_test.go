package journal

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// openTest opens a journal in a new directory and closes it at the end of
// the test.
func openTest(t testing.TB, o Options) *Journal {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "data.cdb.log")
	}
	j, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// rec returns the record of test number i.
func rec(i int) []byte { return fmt.Appendf(nil, "record %d", i) }

// wait waits for lsn with a test deadline.
func wait(t testing.TB, j *Journal, lsn uint64) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return j.Wait(ctx, lsn)
}

// syncTo calls Sync with a test deadline and fails t unless the log is then
// durable up to lsn, after commits commits in all.
func syncTo(t testing.TB, j *Journal, lsn, commits uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if j.Durable() != lsn || j.commits.Load() != commits {
		t.Fatalf("after Sync: Durable %d, %d commits; want %d, %d", j.Durable(), j.commits.Load(), lsn, commits)
	}
}

// replayAll returns the records of the log at path after after.
func replayAll(t testing.TB, path string, after uint64) (map[uint64]string, uint64, error) {
	t.Helper()
	got := map[uint64]string{}
	last, err := Replay(path, after, time.Second, func(lsn uint64, rec []byte) error {
		got[lsn] = string(rec)
		return nil
	})
	return got, last, err
}

// wantRecords fails t unless got holds rec(i) at LSN i for i in [from, to].
func wantRecords(t testing.TB, got map[uint64]string, from, to int) {
	t.Helper()
	if len(got) != max(0, to-from+1) {
		t.Fatalf("replayed %d records, want %d (LSN %d to %d)", len(got), to-from+1, from, to)
	}
	for i := from; i <= to; i++ {
		if got[uint64(i)] != string(rec(i)) {
			t.Fatalf("LSN %d: got %q, want %q", i, got[uint64(i)], rec(i))
		}
	}
}

// fileRecord is a record of a log file as the tests see it.
type fileRecord struct {
	lsn      uint64
	off, end int64 // where it begins and ends in the file
}

// layout returns the contents of the log file at path and its intact
// records, up to the first damaged one.
func layout(t testing.TB, path string) ([]byte, []fileRecord) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []fileRecord
	rd := newReader(bytes.NewReader(data), headerSize, int64(len(data)))
	for {
		e, ok, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok || e.bad != "" {
			return data, recs
		}
		recs = append(recs, fileRecord{lsn: e.lsn, off: e.off, end: rd.off})
	}
}

// damage changes the log file at path: fn gets its contents and its
// records by LSN and returns the new contents.
func damage(t testing.TB, path string, fn func(data []byte, recs map[uint64]fileRecord) []byte) {
	t.Helper()
	data, list := layout(t, path)
	recs := map[uint64]fileRecord{}
	for _, r := range list {
		recs[r.lsn] = r
	}
	if err := os.WriteFile(path, fn(data, recs), 0o600); err != nil {
		t.Fatal(err)
	}
}

// without returns data without the bytes of the records from..to.
func without(data []byte, recs map[uint64]fileRecord, from, to uint64) []byte {
	return append(slices.Clone(data[:recs[from].off]), data[recs[to].end:]...)
}

// stored returns the records in the file of the open journal j, which
// must all be intact.
func stored(t testing.TB, j *Journal) map[uint64]string {
	t.Helper()
	j.fmu.Lock()
	end := j.file.end
	data, err := os.ReadFile(j.file.path)
	j.fmu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	rd := newReader(bytes.NewReader(data), headerSize, end)
	for {
		e, ok, err := rd.next()
		switch {
		case err != nil:
			t.Fatal(err)
		case !ok:
			return got
		case e.bad != "":
			t.Fatalf("record at offset %d: %s", e.off, e.bad)
		}
		got[e.lsn] = string(e.rec)
	}
}
