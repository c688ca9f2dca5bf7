package journal

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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

// update changes the log file at path directly through bbolt.
func update(t testing.TB, path string, fn func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		if b == nil {
			return fmt.Errorf("no log bucket")
		}
		return fn(b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// key returns the bbolt key of lsn.
func key(lsn uint64) []byte {
	var kb [8]byte
	return append([]byte(nil), lsnKey(&kb, lsn)...)
}

// stored returns the records in the file of the open journal j.
func stored(t testing.TB, j *Journal) map[uint64]string {
	t.Helper()
	got := map[uint64]string{}
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLog).ForEach(func(k, v []byte) error {
			r, reason := decodeValue(v)
			lsn, _ := keyLSN(k)
			if reason != "" {
				return fmt.Errorf("LSN %d: %s", lsn, reason)
			}
			got[lsn] = string(r)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}
