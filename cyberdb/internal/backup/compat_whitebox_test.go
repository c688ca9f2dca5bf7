package backup

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// withoutVersions returns a copy of tables as format 2 holds them: without
// versions, deadlines, Rev and TTL.
func withoutVersions(tables []engine.TableData) []engine.TableData {
	out := make([]engine.TableData, len(tables))
	for i, td := range tables {
		td.Rev, td.TTL = 0, 0
		if td.Dict != nil {
			m := make(map[string]engine.Entry, len(td.Dict))
			for k, e := range td.Dict {
				m[k] = engine.Entry{V: e.V}
			}
			td.Dict = m
		}
		out[i] = td
	}
	return out
}

// TestRead_FormatV2 reads a file of format 2, filled through bbolt's Put
// as this package once wrote them, and writes its tables back in format 3.
func TestRead_FormatV2(t *testing.T) {
	tables, meta := goldenTables(t)
	path := filepath.Join(t.TempDir(), "v2.cdb")
	refWrite(t, path, tables, meta, 2)
	dump(t, path) // runs tx.Check
	got, gotMeta, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := withoutVersions(sortedByName(tables))
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotMeta, meta) {
		t.Fatal("read other tables or meta than were written")
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != formatV2 || info.Tables[1].Rev != 0 || info.Tables[1].TTL != 0 || info.Tables[1].Bytes == 0 {
		t.Fatalf("Stat: %+v", info)
	}
	upgraded := filepath.Join(t.TempDir(), "v3.cdb")
	if err := Write(upgraded, got, gotMeta); err != nil {
		t.Fatal(err)
	}
	if again, _, err := Read(upgraded); err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("rewritten in format 3: %v", err)
	}
}

// TestRead_FormatV2_Corrupt damages a file of format 2: it is checked as
// strictly as one of format 3, and the keys of format 3 are foreign to it.
func TestRead_FormatV2_Corrupt(t *testing.T) {
	tests := []struct {
		name string
		fn   func(d *bolt.Bucket) error
		want string
	}{
		{"value changed", func(d *bolt.Bucket) error {
			return d.Bucket(bucketData).Put([]byte("key-000007"), []byte{0x07})
		}, `table "d": checksum mismatch`},
		{"value with a header", func(d *bolt.Bucket) error {
			return d.Bucket(bucketData).Put([]byte("key-000007"), refStored(engine.Entry{V: []byte{0x07}, Ver: 14}, 3))
		}, `table "d": entry 7 (key "key-000007"): cyberdb: malformed CBOR`},
		{"rev", func(d *bolt.Bucket) error {
			return d.Put(keyRev, u64(1))
		}, `table "d": unexpected key "rev" (8 bytes)`},
		{"ttl", func(d *bolt.Bucket) error {
			return d.Put(keyTTL, u64(1))
		}, `table "d": unexpected key "ttl" (8 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables, meta := goldenTables(t)
			path := filepath.Join(t.TempDir(), "v2.cdb")
			refWrite(t, path, tables, meta, 2)
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { return tt.fn(tx.Bucket(bucketTables).Bucket([]byte("d"))) })
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Read(path)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrCorrupt with %q", err, tt.want)
			}
		})
	}
}
