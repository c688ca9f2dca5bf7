package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeLog writes a closed log of records 1..n and returns its path.
func writeLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.cdb.log")
	j, err := Open(Options{Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		j.Append(rec(i))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayAfter(t *testing.T) {
	path := writeLog(t, 50)
	for _, after := range []uint64{0, 1, 30, 49, 50, 80} {
		got, last, err := replayAll(t, path, after)
		if err != nil || last != max(after, 50) {
			t.Fatalf("after %d: last %d, err %v", after, last, err)
		}
		wantRecords(t, got, int(after)+1, 50)
	}
}

func TestReplayCallbackError(t *testing.T) {
	path := writeLog(t, 10)
	stop := errors.New("stop")
	last, err := Replay(path, 0, time.Second, func(lsn uint64, _ []byte) error {
		if lsn == 4 {
			return stop
		}
		return nil
	})
	if err != stop || last != 3 {
		t.Fatalf("got last %d, err %v; want 3 and the callback's error", last, err)
	}
}

// flip returns data with the bits mask flipped in the byte at off.
func flip(data []byte, off int64, mask byte) []byte {
	data[off] ^= mask
	return data
}

func TestReplayTornTail(t *testing.T) {
	type damageFunc = func(data []byte, recs map[uint64]fileRecord) []byte
	tests := []struct {
		name      string
		damage    damageFunc
		after     uint64
		last      uint64
		from, to  uint64
		count     int
		reasonHas string
	}{
		{"flipped byte", func(d []byte, r map[uint64]fileRecord) []byte { return flip(d, r[7].end-1, 0x40) },
			0, 6, 7, 10, 4, "checksum"},
		{"flipped crc of the last record", func(d []byte, r map[uint64]fileRecord) []byte { return flip(d, r[10].off+4, 1) },
			2, 9, 10, 9, 1, "checksum"},
		{"flipped LSN", func(d []byte, r map[uint64]fileRecord) []byte { return flip(d, r[8].off+8, 0x80) },
			0, 7, 8, 10, 3, "checksum"},
		{"impossible length", func(d []byte, r map[uint64]fileRecord) []byte {
			binary.LittleEndian.PutUint32(d[r[5].off:], 3)
			return d
		}, 0, 4, 5, 4, 1, "impossible record length 3"},
		{"huge length", func(d []byte, r map[uint64]fileRecord) []byte { return flip(d, r[5].off+3, 0x01) },
			0, 4, 5, 4, 1, "cut short"},
		{"record cut short", func(d []byte, r map[uint64]fileRecord) []byte { return d[:r[10].end-3] },
			0, 9, 10, 9, 1, "cut short"},
		{"header cut short", func(d []byte, r map[uint64]fileRecord) []byte { return d[:r[10].off+5] },
			0, 9, 10, 9, 1, "header cut short"},
		{"gap", func(d []byte, r map[uint64]fileRecord) []byte { return without(d, r, 4, 4) },
			0, 3, 4, 10, 6, "record 4 is missing"},
		{"gap at the start", func(d []byte, r map[uint64]fileRecord) []byte { return without(d, r, 1, 3) },
			0, 0, 1, 10, 7, "records 1 to 3 are missing"},
		{"gap before after is harmless", func(d []byte, r map[uint64]fileRecord) []byte { return without(d, r, 2, 2) },
			5, 10, 0, 0, 0, ""},
		{"out of order", func(d []byte, r map[uint64]fileRecord) []byte {
			old := slices.Clone(d[r[3].off:r[3].end])
			return append(d[:r[9].off], append(old, d[r[10].off:]...)...)
		}, 0, 8, 9, 10, 2, "record 3 follows record 8"},
		{"zeros after the last record", func(d []byte, _ map[uint64]fileRecord) []byte { return append(d, make([]byte, 5000)...) },
			0, 10, 0, 0, 0, ""},
		{"garbage after zeros", func(d []byte, _ map[uint64]fileRecord) []byte {
			return append(append(d, make([]byte, 100)...), "garbage"...)
		}, 0, 10, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeLog(t, 10)
			damage(t, path, tt.damage)
			got, last, err := replayAll(t, path, tt.after)
			if last != tt.last {
				t.Fatalf("last %d, want %d (err %v)", last, tt.last, err)
			}
			wantRecords(t, got, int(tt.after)+1, int(tt.last))
			if tt.reasonHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var te *TailError
			if !errors.As(err, &te) || !errors.Is(err, ErrTornTail) {
				t.Fatalf("err %v, want a *TailError", err)
			}
			if te.From != tt.from || te.To != tt.to || te.Count != tt.count || !strings.Contains(te.Reason, tt.reasonHas) {
				t.Fatalf("got %+v, want From %d To %d Count %d, reason with %q", te, tt.from, tt.to, tt.count, tt.reasonHas)
			}
			t.Log(err)
		})
	}
}

func TestTruncateAfterTornTail(t *testing.T) {
	path := writeLog(t, 10)
	damage(t, path, func(d []byte, r map[uint64]fileRecord) []byte { return flip(d, r[6].end-1, 1) })
	last, err := Replay(path, 0, time.Second, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrTornTail) || last != 5 {
		t.Fatalf("Replay: last %d, err %v", last, err)
	}
	j := openTest(t, Options{Path: path, NoSync: true})
	if j.Last() != 5 {
		t.Fatalf("Open over a torn tail: Last %d, want 5", j.Last())
	}
	if err := j.Truncate(last); err != nil {
		t.Fatal(err)
	}
	if _, _, err := replayAll(t, path, 0); err != nil {
		t.Fatalf("Replay after Truncate: %v", err)
	}
	if err := wait(t, j, j.Append(rec(6))); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, path, 0)
	if err != nil || last != 6 {
		t.Fatalf("Replay after Truncate: last %d, err %v", last, err)
	}
	wantRecords(t, got, 1, 6)
}

// TestCommitCutsTornTail appends over a torn tail without Truncate: the
// first commit cuts it, however long it is.
func TestCommitCutsTornTail(t *testing.T) {
	for _, noSync := range []bool{true, false} {
		path := writeLog(t, 10)
		damage(t, path, func(d []byte, r map[uint64]fileRecord) []byte {
			return append(flip(d, r[4].end-1, 1), bytes.Repeat([]byte{0xee}, 3000)...)
		})
		j := openTest(t, Options{Path: path, NoSync: noSync})
		if lsn := j.Append(rec(4)); lsn != 4 {
			t.Fatalf("Append over a torn tail got LSN %d, want 4", lsn)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		got, last, err := replayAll(t, path, 0)
		if err != nil || last != 4 {
			t.Fatalf("Replay: last %d, err %v", last, err)
		}
		wantRecords(t, got, 1, 4)
	}
}

// TestReopenSkipsGarbageAfterZeros reopens a log whose reserved space
// holds garbage past a zero header: the next commit cuts it.
func TestReopenSkipsGarbageAfterZeros(t *testing.T) {
	path := writeLog(t, 3)
	damage(t, path, func(d []byte, _ map[uint64]fileRecord) []byte {
		return append(append(d, make([]byte, 64)...), appendRecord(nil, 9, []byte("stale"))...)
	})
	j := openTest(t, Options{Path: path})
	if err := wait(t, j, j.Append(bytes.Repeat([]byte("n"), 100))); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	got, last, err := replayAll(t, path, 0)
	if err != nil || last != 4 || len(got) != 4 {
		t.Fatalf("Replay: last %d, %d records, err %v", last, len(got), err)
	}
}

func TestForeignFiles(t *testing.T) {
	tests := []struct {
		name    string
		make    func(path string) error
		foreign bool // else just an error
	}{
		{"bbolt log of format log1", func(path string) error {
			return boltFile(path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("meta"))
				if err == nil {
					err = b.Put([]byte("format"), []byte("cyberdb-go/log1"))
				}
				return err
			})
		}, true},
		{"a backup file", func(path string) error {
			return boltFile(path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("cyberdb")); return err })
		}, true},
		{"another format", func(path string) error {
			return os.WriteFile(path, append([]byte("cyberdb-go/log9\n"), make([]byte, 100)...), 0o600)
		}, true},
		{"another version", func(path string) error {
			h := appendHeader(nil)
			h[len(magic)] = 7
			return os.WriteFile(path, h, 0o600)
		}, true},
		{"random bytes", func(path string) error { return os.WriteFile(path, make([]byte, 64<<10), 0o600) }, false},
		{"text", func(path string) error { return os.WriteFile(path, []byte("hello\n"), 0o600) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.cdb.log")
			if err := tt.make(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			_, err := Open(Options{Path: path, Timeout: 100 * time.Millisecond})
			if err == nil || (tt.foreign && !errors.Is(err, ErrForeign)) {
				t.Fatalf("Open: %v, want an error (ErrForeign: %v)", err, tt.foreign)
			}
			t.Log(err)
			last, err := Replay(path, 3, 100*time.Millisecond, func(uint64, []byte) error { return nil })
			if err == nil || last != 3 || (tt.foreign && !errors.Is(err, ErrForeign)) || errors.Is(err, ErrTornTail) {
				t.Fatalf("Replay: last %d, %v, want an error (ErrForeign: %v)", last, err, tt.foreign)
			}
			t.Log(err)
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatal("the foreign file was modified")
			}
		})
	}
}

// boltFile creates a bbolt file at path filled by fn.
func boltFile(path string, fn func(*bolt.Tx) error) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	if err := db.Update(fn); err != nil {
		return err
	}
	return db.Close()
}

func TestReplayMissingOrEmpty(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.log"), empty} {
		last, err := Replay(path, 7, time.Second, func(uint64, []byte) error { return nil })
		if err != nil || last != 7 {
			t.Fatalf("%s: last %d, err %v; want 7, nil", path, last, err)
		}
	}
	j := openTest(t, Options{Path: empty, NoSync: true})
	if err := wait(t, j, j.Append(rec(1))); err != nil {
		t.Fatalf("a log in an empty file: %v", err)
	}
}
