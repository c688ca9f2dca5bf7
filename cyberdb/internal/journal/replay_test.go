package journal

import (
	"errors"
	"os"
	"path/filepath"
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

func TestReplayTornTail(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(b *bolt.Bucket) error
		after     uint64
		last      uint64
		from, to  uint64
		count     int
		reasonHas string
	}{
		{"flipped byte", func(b *bolt.Bucket) error {
			v := append([]byte(nil), b.Get(key(7))...)
			v[len(v)-1] ^= 0x40
			return b.Put(key(7), v)
		}, 0, 6, 7, 10, 4, "checksum"},
		{"flipped crc of the last record", func(b *bolt.Bucket) error {
			v := append([]byte(nil), b.Get(key(10))...)
			v[0] ^= 1
			return b.Put(key(10), v)
		}, 2, 9, 10, 10, 1, "checksum"},
		{"short value", func(b *bolt.Bucket) error { return b.Put(key(5), []byte{1, 2}) }, 0, 4, 5, 10, 6, "shorter"},
		{"gap", func(b *bolt.Bucket) error { return b.Delete(key(4)) }, 0, 3, 4, 10, 6, "missing"},
		{"gap at the start", func(b *bolt.Bucket) error {
			for i := uint64(1); i <= 3; i++ {
				if err := b.Delete(key(i)); err != nil {
					return err
				}
			}
			return nil
		}, 0, 0, 1, 10, 7, "records 1 to 3 are missing"},
		{"gap before after is harmless", func(b *bolt.Bucket) error { return b.Delete(key(2)) }, 5, 10, 0, 0, 0, ""},
		{"malformed key", func(b *bolt.Bucket) error { return b.Put([]byte{0, 0, 0, 0, 0, 0, 0, 8, 1}, []byte("xxxxx")) }, 0, 8, 9, 10, 3, "malformed key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeLog(t, 10)
			update(t, path, tt.damage)
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
	update(t, path, func(b *bolt.Bucket) error { return b.Put(key(6), []byte("bad!!")) })
	last, err := Replay(path, 0, time.Second, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrTornTail) || last != 5 {
		t.Fatalf("Replay: last %d, err %v", last, err)
	}
	j := openTest(t, Options{Path: path, NoSync: true})
	if err := j.Truncate(last); err != nil {
		t.Fatal(err)
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

func TestForeignFiles(t *testing.T) {
	tests := []struct {
		name    string
		make    func(path string) error
		foreign bool // else just an error
	}{
		{"bbolt without our buckets", func(path string) error {
			return boltFile(path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}, true},
		{"another format", func(path string) error {
			return boltFile(path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bucketMeta)
				if err == nil {
					err = b.Put(keyFormat, []byte("cyberdb-go/log9"))
				}
				return err
			})
		}, true},
		{"a backup file", func(path string) error {
			return boltFile(path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("cyberdb")); return err })
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
