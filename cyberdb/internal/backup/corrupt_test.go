package backup_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// smallTables spans a few pages, with a branch page in the dict, in name
// order.
func smallTables(t testing.TB) []engine.TableData {
	return []engine.TableData{
		dict(t, "d", 150, 30),
		{Name: "e", Kind: engine.KindDict, Rev: 3, TTL: 60e9, Dict: map[string]engine.Entry{"": {V: enc(t, false), Ver: 2, Exp: 3}}},
		list(t, "l", 20, 30),
	}
}

// readMutated writes b to a new file and reads it: the result must be the
// original tables or a rejection. It reports whether Read rejected it.
func readMutated(t *testing.T, what string, b []byte, want []engine.TableData) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mut.cdb")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return readCheck(t, what, path, want)
}

// readCheck reads path: the result must be want or a rejection. It reports
// whether Read rejected the file.
func readCheck(t *testing.T, what, path string, want []engine.TableData) bool {
	t.Helper()
	got, _, err := backup.Read(path)
	if err == nil {
		if len(got) != len(want) {
			t.Fatalf("%s: accepted with %d tables, want %d", what, len(got), len(want))
		}
		for i := range want {
			if d := diffTable(got[i], want[i]); d != nil {
				t.Fatalf("%s: accepted with wrong data: %v", what, d)
			}
		}
		return false
	}
	assertRejected(t, what, got, err)
	return true
}

func TestRead_Truncated(t *testing.T) {
	want := smallTables(t)
	orig, err := os.ReadFile(writeSample(t, want))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(orig); n += 97 {
		if !readMutated(t, "truncated", orig[:n], want) {
			t.Fatalf("file cut to %d of %d bytes was accepted", n, len(orig))
		}
	}
}

// TestRead_FlippedBytes changes bytes all over a file, one at a time: every
// byte of each page header and the first elements, and random others.
// Read must return the original data (the byte was unused) or reject the
// file; it must never panic, hang, or return other data.
func TestRead_FlippedBytes(t *testing.T) {
	want := smallTables(t)
	path := writeSample(t, want)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rejected, offsets := 0, flipOffsets(len(orig), seed, testing.Short())
	for _, off := range offsets {
		for _, mask := range []byte{0xff, 0x01} {
			writeByte(t, f, off, orig[off]^mask)
			if readCheck(t, fmt.Sprintf("byte %d ^ %#x", off, mask), path, want) {
				rejected++
			}
		}
		writeByte(t, f, off, orig[off])
	}
	t.Logf("%d bytes, %d flips, %d rejected, the rest hit unused bytes", len(orig), 2*len(offsets), rejected)
}

// TestRead_WrongPageIDs overwrites aligned 8-byte words near the start of
// pages, where headers and element arrays live, with small numbers, as a
// damaged page reference would hold: Read must not loop, fault or return
// other data.
func TestRead_WrongPageIDs(t *testing.T) {
	want := smallTables(t)
	path := writeSample(t, want)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	n, rejected := 1000, 0
	if testing.Short() {
		n = 100
	}
	pages := uint64(len(orig) / 4096)
	for range n {
		off := r.IntN(len(orig)/4096)*4096 + r.IntN(32)*8
		word := binary.NativeEndian.AppendUint64(nil, r.Uint64N(pages+2))
		if _, err := f.WriteAt(word, int64(off)); err != nil {
			t.Fatal(err)
		}
		if readCheck(t, fmt.Sprintf("word at %d = %x", off, word), path, want) {
			rejected++
		}
		if _, err := f.WriteAt(orig[off:off+8], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d words changed, %d rejected", n, rejected)
}

// flipOffsets returns the offsets TestRead_FlippedBytes changes.
func flipOffsets(size int, seed uint64, short bool) []int {
	const pageSize = 4096
	head, random := 96, 1500
	if short {
		head, random = 24, 200
	}
	var offs []int
	for p := 0; p < size; p += pageSize {
		for i := range head {
			offs = append(offs, p+i)
		}
	}
	r := rand.New(rand.NewPCG(seed, 0))
	for range random {
		offs = append(offs, r.IntN(size))
	}
	return offs
}

// writeByte sets byte off of f to b.
func writeByte(t *testing.T, f *os.File, off int, b byte) {
	t.Helper()
	if _, err := f.WriteAt([]byte{b}, int64(off)); err != nil {
		t.Fatal(err)
	}
}

// tamper rewrites the tables of a backup in place with bbolt.
func tamper(t *testing.T, path string, fn func(tb, meta *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		return fn(tx.Bucket([]byte("tables")), tx.Bucket([]byte("cyberdb")))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRead_Tampered(t *testing.T) {
	data := func(tb *bolt.Bucket, table string) *bolt.Bucket {
		return tb.Bucket([]byte(table)).Bucket([]byte("data"))
	}
	key := func(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }
	// Key i of table d has version i+1 and, unless i%3 == 0, the deadline exp+i.
	const exp = 1_700_000_000_000_000_000
	tests := []struct {
		name string
		fn   func(tb, meta *bolt.Bucket) error
		want string
	}{
		{"intact rewrite", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000007"), stored(8, exp+7, value(t, 7, 30)))
		}, ""},
		{"value changed", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000007"), stored(8, exp+7, value(t, 8, 30)))
		}, `table "d": checksum mismatch`},
		{"version changed", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000007"), stored(9, exp+7, value(t, 7, 30)))
		}, `table "d": checksum mismatch`},
		{"deadline dropped", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000007"), stored(8, 0, value(t, 7, 30)))
		}, `table "d": checksum mismatch`},
		{"deadline added", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000006"), stored(7, 1, value(t, 6, 30)))
		}, `table "d": checksum mismatch`},
		{"bare value", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), value(t, 3, 30))
		}, `table "d": entry 3 (key "key-00000003"): entry header: unknown flags 0x58`},
		{"unknown flag", func(tb, _ *bolt.Bucket) error {
			v := stored(5, exp+4, value(t, 4, 30))
			v[0] |= 0x80
			return data(tb, "d").Put([]byte("key-00000004"), v)
		}, `table "d": entry 4 (key "key-00000004"): entry header: unknown flags 0x81`},
		{"version not minimal", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), append([]byte{0, 0x84, 0}, value(t, 3, 30)...))
		}, `table "d": entry 3 (key "key-00000003"): entry header: version not minimally encoded`},
		{"version cut", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), []byte{0, 0x84})
		}, `table "d": entry 3 (key "key-00000003"): entry header: malformed version`},
		{"version overflows", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), append([]byte{0}, bytes.Repeat([]byte{0xff}, 11)...))
		}, `table "d": entry 3 (key "key-00000003"): entry header: malformed version`},
		{"deadline cut", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000004"), []byte{1, 5, 0, 0, 0})
		}, `table "d": entry 4 (key "key-00000004"): entry header: deadline cut short`},
		{"flagged zero deadline", func(tb, _ *bolt.Bucket) error {
			v := stored(5, 0, append(make([]byte, 8), value(t, 4, 30)...))
			v[0] = 1
			return data(tb, "d").Put([]byte("key-00000004"), v)
		}, `table "d": entry 4 (key "key-00000004"): entry header: deadline flagged but 0`},
		{"header without value", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), stored(4, 0, nil))
		}, `table "d": entry 3 (key "key-00000003"): empty value`},
		{"empty entry", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), nil)
		}, `table "d": entry 3 (key "key-00000003"): entry header: empty entry`},
		{"empty key header", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Put([]byte("empty"), stored(2, 0, enc(t, false)))
		}, `table "e": checksum mismatch`},
		{"empty key flags", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Put([]byte("empty"), []byte{0x04, 0x02, 0xf4})
		}, `table "e": entry 0 (key ""): entry header: unknown flags 0x04`},
		{"empty key cut", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Put([]byte("empty"), []byte{0x01, 0x02, 0x00})
		}, `table "e": entry 0 (key ""): entry header: deadline cut short`},
		{"key deleted", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Delete([]byte("key-00000007"))
		}, `table "d": 149 entries found, the header says 150`},
		{"key added", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("zzz"), value(t, 8, 30))
		}, `table "d": more entries than the 150`},
		{"malformed value", func(tb, _ *bolt.Bucket) error {
			return data(tb, "d").Put([]byte("key-00000003"), stored(4, 0, []byte{0x82, 0x01}))
		}, `table "d": entry 3 (key "key-00000003"): cyberdb: malformed CBOR`},
		{"empty value", func(tb, _ *bolt.Bucket) error {
			return data(tb, "l").Put(key(2), nil)
		}, `table "l": entry 2 (key "\x00\x00\x00\x00\x00\x00\x00\x02"): empty value`},
		{"list gap", func(tb, _ *bolt.Bucket) error {
			return data(tb, "l").Delete(key(4))
		}, `table "l": entry 4 has key 0000000000000005, not its index`},
		{"bucket in data", func(tb, _ *bolt.Bucket) error {
			_, err := data(tb, "d").CreateBucket([]byte("key-00000001x"))
			return err
		}, `table "d": entry 2 is a bucket`},
		{"renamed", func(tb, _ *bolt.Bucket) error {
			return rename(tb, "l", "m")
		}, `table "m": checksum mismatch`},
		{"bad kind", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Put([]byte("kind"), []byte{3})
		}, `table "l": unknown kind 3`},
		{"kind swapped", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("d")).Put([]byte("kind"), []byte{2})
		}, `table "d": entry 0 has key`},
		{"crc missing", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("d")).Delete([]byte("crc"))
		}, `table "d": the crc key is missing`},
		{"rev missing", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Delete([]byte("rev"))
		}, `table "l": the rev key is missing`},
		{"rev changed", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Put([]byte("rev"), key(21))
		}, `table "l": checksum mismatch`},
		{"rev of 4 bytes", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Put([]byte("rev"), []byte{0, 0, 0, 20})
		}, `table "l": unexpected key "rev" (4 bytes)`},
		{"ttl changed", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Put([]byte("ttl"), key(61e9))
		}, `table "e": checksum mismatch`},
		{"ttl removed", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Delete([]byte("ttl"))
		}, `table "e": checksum mismatch`},
		{"ttl added", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("d")).Put([]byte("ttl"), key(1))
		}, `table "d": checksum mismatch`},
		{"ttl zero", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Put([]byte("ttl"), key(0))
		}, `table "e": ttl 0 is not positive`},
		{"ttl negative", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("e")).Put([]byte("ttl"), key(1<<63))
		}, `table "e": ttl -9223372036854775808 is not positive`},
		{"ttl on a list", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Put([]byte("ttl"), key(1))
		}, `table "l": a list with a ttl`},
		{"relabelled format 2", func(_, meta *bolt.Bucket) error {
			return meta.Put([]byte("format"), []byte("cyberdb-go/2"))
		}, `table "d": unexpected key "rev" (8 bytes)`},
		{"huge count", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("d")).Put([]byte("count"), key(1<<40))
		}, `table "d": 1099511627776 entries cannot fit`},
		{"unknown key", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("d")).Put([]byte("extra"), []byte{1})
		}, `table "d": unexpected key "extra" (1 bytes)`},
		{"empty key in a list", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Put([]byte("empty"), []byte{1})
		}, `table "l": a list with a dict entry`},
		{"data missing", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).DeleteBucket([]byte("data"))
		}, `table "l": the data bucket is missing`},
		{"table dropped", func(tb, _ *bolt.Bucket) error {
			return tb.DeleteBucket([]byte("e"))
		}, "2 tables found, the file declares 3"},
		{"table not a bucket", func(tb, _ *bolt.Bucket) error {
			return tb.Put([]byte("f"), []byte{1})
		}, `tables: "f" is not a bucket`},
		{"no format", func(_, meta *bolt.Bucket) error {
			return meta.Delete([]byte("format"))
		}, "no format marker: the file was not completely written"},
		{"no table count", func(_, meta *bolt.Bucket) error {
			return meta.Delete([]byte("tables"))
		}, "table count of 0 bytes"},
		{"table lsn changed", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("d")).Put([]byte("lsn"), key(5))
		}, `table "d": checksum mismatch`},
		{"table lsn missing", func(tb, _ *bolt.Bucket) error {
			return tb.Bucket([]byte("l")).Delete([]byte("lsn"))
		}, `table "l": the lsn key is missing`},
		{"store lsn changed", func(_, meta *bolt.Bucket) error {
			return meta.Put([]byte("lsn"), key(5))
		}, "store checksum mismatch"},
		{"clients added", func(_, meta *bolt.Bucket) error {
			return meta.Put([]byte("clients"), []byte{1})
		}, "store checksum mismatch"},
		{"store crc missing", func(_, meta *bolt.Bucket) error {
			return meta.Delete([]byte("crc"))
		}, "the store's lsn or crc is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := smallTables(t)
			path := writeSample(t, want)
			tamper(t, path, tt.fn)
			if tt.want == "" {
				if readCheck(t, tt.name, path, want) {
					t.Fatal("rejected")
				}
				return
			}
			got, _, err := backup.Read(path)
			if !errors.Is(err, backup.ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrCorrupt with %q", err, tt.want)
			}
			if got != nil {
				t.Fatal("got tables with the error")
			}
			if _, err := backup.Stat(path); !errors.Is(err, backup.ErrCorrupt) {
				t.Fatalf("Stat: got %v, want ErrCorrupt", err)
			}
		})
	}
}

// rename copies table from to a new bucket to and deletes from.
func rename(tb *bolt.Bucket, from, to string) error {
	src := tb.Bucket([]byte(from))
	dst, err := tb.CreateBucket([]byte(to))
	if err != nil {
		return err
	}
	if err := copyBucket(src, dst); err != nil {
		return err
	}
	return tb.DeleteBucket([]byte(from))
}

// copyBucket copies the keys and nested buckets of src into dst.
func copyBucket(src, dst *bolt.Bucket) error {
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(k, v)
		}
		sub, err := dst.CreateBucket(k)
		if err != nil {
			return err
		}
		return copyBucket(src.Bucket(k), sub)
	})
}
