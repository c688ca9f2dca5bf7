package backup

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// refWrite writes tables and meta to path through bbolt's own Put, one
// transaction for the skeleton and one for the rest: the file Write lays
// out must hold exactly the same buckets, keys and values.
func refWrite(t *testing.T, path string, tables []engine.TableData, meta Meta) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucket(bucketMeta); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bucketTables)
		return err
	})
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error { return refFill(tx, tables, meta) })
	}
	if err != nil {
		t.Fatal(err)
	}
}

func refFill(tx *bolt.Tx, tables []engine.TableData, meta Meta) error {
	u64 := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	for _, td := range tables {
		tb, err := tx.Bucket(bucketTables).CreateBucket([]byte(td.Name))
		if err != nil {
			return err
		}
		data, err := tb.CreateBucket(bucketData)
		if err != nil {
			return err
		}
		d := &refDigest{}
		d.field([]byte(td.Name))
		d.add(append([]byte{byte(td.Kind)}, u64(td.LSN)...))
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range td.Dict {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range keys {
			d.field([]byte(k))
			d.field(td.Dict[k])
			if k == "" {
				err = tb.Put(keyEmpty, td.Dict[k])
			} else {
				err = data.Put([]byte(k), td.Dict[k])
			}
			if err != nil {
				return err
			}
		}
		for i, v := range td.List {
			d.field(u64(uint64(i)))
			d.field(v)
			if err := data.Put(u64(uint64(i)), v); err != nil {
				return err
			}
		}
		for _, kv := range [][2][]byte{
			{keyKind, {byte(td.Kind)}}, {keyLSN, u64(td.LSN)},
			{keyCount, u64(uint64(len(td.Dict) + len(td.List)))},
			{keyCRC, binary.BigEndian.AppendUint32(nil, d.crc)},
		} {
			if err := tb.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	mb := tx.Bucket(bucketMeta)
	if err := mb.Put(keyTables, u64(uint64(len(tables)))); err != nil {
		return err
	}
	if err := putMeta(mb, meta); err != nil {
		return err
	}
	return mb.Put(keyFormat, []byte(Format))
}

// refDigest computes the crc of a table as the package documentation
// describes it, one field at a time.
type refDigest struct{ crc uint32 }

func (d *refDigest) add(b []byte) {
	d.crc = crc32.Update(d.crc, crc32.MakeTable(crc32.Castagnoli), b)
}

func (d *refDigest) field(b []byte) {
	d.add(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	d.add(b)
}

// putMeta stores meta in the cyberdb bucket mb.
func putMeta(mb *bolt.Bucket, meta Meta) error {
	if err := mb.Put(keyLSN, binary.BigEndian.AppendUint64(nil, meta.LSN)); err != nil {
		return err
	}
	if len(meta.Clients) > 0 {
		if err := mb.Put(keyClients, meta.Clients); err != nil {
			return err
		}
	}
	return mb.Put(keyCRC, binary.BigEndian.AppendUint32(nil, metaSum(meta.LSN, meta.Clients)))
}

// dump lists every bucket, key and value of the bbolt file at path, after
// checking the file with bbolt's own consistency check.
func dump(t *testing.T, path string) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("%s: %v", path, err)
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return dumpBucket(&out, fmt.Sprintf("%q", name), b)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dumpBucket(out *[]string, path string, b *bolt.Bucket) error {
	*out = append(*out, path+"/")
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return dumpBucket(out, fmt.Sprintf("%s/%q", path, k), b.Bucket(k))
		}
		*out = append(*out, fmt.Sprintf("%s/%q=%x", path, k, v))
		return nil
	})
}

// layouts are tables that need every shape of page: inline and nested
// buckets, branch pages, overflow pages for large values and keys, and
// branch pages holding large keys.
func layouts(t *testing.T) []layout {
	v := func(s string) []byte {
		b, err := codec.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dict := func(name string, n int, key func(int) string, val func(int) []byte) engine.TableData {
		td := engine.TableData{Name: name, Kind: engine.KindDict, LSN: uint64(n), Dict: map[string][]byte{}}
		for i := range n {
			td.Dict[key(i)] = val(i)
		}
		return td
	}
	short := func(i int) string { return fmt.Sprintf("k%07d", i) }
	long := func(i int) string { return fmt.Sprintf("%07d", i) + strings.Repeat("k", MaxKeySize-7) }
	small := func(i int) []byte { return v(fmt.Sprint(i)) }
	many := make([]engine.TableData, 300)
	for i := range many {
		many[i] = dict(fmt.Sprintf("t%04d", i), i%5, short, small)
	}
	return []layout{
		{"none", nil},
		{"empty", []engine.TableData{{Name: "d", Kind: engine.KindDict}, {Name: "l", Kind: engine.KindList}}},
		{"small", []engine.TableData{dict("d", 3, short, small), {Name: "l", Kind: engine.KindList, List: [][]byte{v("a")}},
			{Name: "e", Kind: engine.KindDict, Dict: map[string][]byte{"": v("empty"), "x": v("x")}}}},
		{"branches", []engine.TableData{dict("d", 20_000, short, small), {Name: "l", Kind: engine.KindList, List: slices.Repeat([][]byte{v("x")}, 10_000)}}},
		{"big values", []engine.TableData{dict("d", 30, short, func(i int) []byte { return v(strings.Repeat("v", i*1000)) })}},
		{"long keys", []engine.TableData{dict("d", 200, long, small)}},
		{"many tables", many},
		{"long name", []engine.TableData{dict(strings.Repeat("n", MaxKeySize), 2, short, small)}},
		{"big empty", []engine.TableData{{Name: "e", Kind: engine.KindDict, Dict: map[string][]byte{"": v(strings.Repeat("e", 50_000))}}}},
	}
}

// layout is a named set of tables.
type layout struct {
	name   string
	tables []engine.TableData
}

// TestWrite_SameAsBolt checks that bbolt accepts the files Write lays out
// and finds in them what it would have written itself.
func TestWrite_SameAsBolt(t *testing.T) {
	// A large clients meta makes the cyberdb bucket span pages.
	metas := []Meta{{}, {LSN: 42, Clients: []byte("c")}, {LSN: 7, Clients: bytes.Repeat([]byte("c"), 20_000)}}
	for i, l := range layouts(t) {
		meta := metas[i%len(metas)]
		t.Run(l.name, func(t *testing.T) {
			dir := t.TempDir()
			got, want := filepath.Join(dir, "got.cdb"), filepath.Join(dir, "want.cdb")
			if err := Write(got, l.tables, meta); err != nil {
				t.Fatal(err)
			}
			refWrite(t, want, l.tables, meta)
			g, w := dump(t, got), dump(t, want)
			if !slices.Equal(g, w) {
				t.Fatalf("got %d entries, want %d; first difference:\n%s", len(g), len(w), firstDiff(g, w))
			}
			if _, _, err := Read(got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// firstDiff describes the first difference between two dumps.
func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf(" got %.200s\nwant %.200s", got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

// TestWrite_SkeletonMeta checks the meta page of the first transaction,
// which bbolt falls back to when the other is damaged: it must name a
// file with empty cyberdb and tables buckets, so Read reports an
// incomplete file.
func TestWrite_SkeletonMeta(t *testing.T) {
	path, b := branchFile(t)
	m0, m1 := parseMeta(b), parseMeta(b[testPageSize:])
	if !m0.valid || !m1.valid || m0.txid != txSkeleton || m1.txid != txFull || m0.hwm != 4 {
		t.Fatalf("meta pages %+v and %+v", m0, m1)
	}
	b[testPageSize+pageHeaderSize] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, path); !slices.Equal(got, []string{`"cyberdb"/`, `"tables"/`}) {
		t.Fatalf("skeleton holds %q", got)
	}
}

// goldenTables returns tables of every kind and size class, and a meta.
func goldenTables(t testing.TB) ([]engine.TableData, Meta) {
	enc := func(v any) []byte {
		b, err := codec.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	d := engine.TableData{Name: "d", Kind: engine.KindDict, LSN: 5, Dict: map[string][]byte{}}
	for i := range 1500 {
		d.Dict[fmt.Sprintf("key-%06d", i)] = enc(fmt.Sprintf("value %d", i))
	}
	e := engine.TableData{Name: "e", Kind: engine.KindDict, LSN: 6, Dict: map[string][]byte{"": enc(0), "x": enc("x")}}
	l := engine.TableData{Name: "l", Kind: engine.KindList, LSN: 7}
	for i := range 500 {
		l.List = append(l.List, enc(i))
	}
	big := engine.TableData{Name: "big", Kind: engine.KindDict, LSN: 8, Dict: map[string][]byte{}}
	for i := range 3 {
		big.Dict[fmt.Sprint(i)] = enc(strings.Repeat("b", 10000*(i+1)))
	}
	return []engine.TableData{big, d, e, l}, Meta{LSN: 77, Clients: []byte("clients")}
}

// TestWrite_Golden checks that a file filled through bbolt's Put, as this
// package once wrote them, still reads, and that Write writes the same
// buckets, keys and values, checksums included.
func TestWrite_Golden(t *testing.T) {
	tables, meta := goldenTables(t)
	golden := filepath.Join(t.TempDir(), "bbolt-writer.cdb")
	refWrite(t, golden, tables, meta)
	got, gotMeta, err := Read(golden)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tables) || gotMeta.LSN != meta.LSN || string(gotMeta.Clients) != string(meta.Clients) {
		t.Fatalf("read %d tables and %+v", len(got), gotMeta)
	}
	path := filepath.Join(t.TempDir(), "new.cdb")
	if err := Write(path, tables, meta); err != nil {
		t.Fatal(err)
	}
	if g, w := dump(t, path), dump(t, golden); !slices.Equal(g, w) {
		t.Fatalf("got %d entries, want %d; first difference:\n%s", len(g), len(w), firstDiff(g, w))
	}
}
