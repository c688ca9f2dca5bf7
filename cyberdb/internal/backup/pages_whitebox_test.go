package backup

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// refWrite writes tables and meta to path through bbolt's own Put, one
// transaction for the skeleton and one for the rest, in the format of the
// given version (3, or 2 as this package once wrote it): the file Write
// lays out must hold exactly the same buckets, keys and values.
func refWrite(t *testing.T, path string, tables []engine.TableData, meta Meta, version int) {
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
		err = db.Update(func(tx *bolt.Tx) error { return refFill(tx, tables, meta, version) })
	}
	if err != nil {
		t.Fatal(err)
	}
}

func refFill(tx *bolt.Tx, tables []engine.TableData, meta Meta, version int) error {
	for _, td := range tables {
		if err := refTable(tx.Bucket(bucketTables), td, version); err != nil {
			return err
		}
	}
	mb := tx.Bucket(bucketMeta)
	if err := mb.Put(keyTables, u64(uint64(len(tables)))); err != nil {
		return err
	}
	if err := putMeta(mb, meta); err != nil {
		return err
	}
	format := Format
	if version == 2 {
		format = formatV2
	}
	return mb.Put(keyFormat, []byte(format))
}

// refTable adds the bucket of td to the tables bucket.
func refTable(tables *bolt.Bucket, td engine.TableData, version int) error {
	tb, err := tables.CreateBucket([]byte(td.Name))
	if err != nil {
		return err
	}
	d := &refDigest{}
	d.field([]byte(td.Name))
	d.add(append([]byte{byte(td.Kind)}, u64(td.LSN)...))
	if version >= 3 {
		d.add(u64(td.Rev))
		d.add(u64(uint64(td.TTL)))
	}
	if err := refEntries(tb, td, version, d); err != nil {
		return err
	}
	header := [][2][]byte{
		{keyKind, {byte(td.Kind)}}, {keyLSN, u64(td.LSN)},
		{keyCount, u64(uint64(len(td.Dict) + len(td.List)))},
		{keyCRC, binary.BigEndian.AppendUint32(nil, d.crc)},
	}
	if version >= 3 {
		header = append(header, [2][]byte{keyRev, u64(td.Rev)})
	}
	if version >= 3 && td.TTL != 0 {
		header = append(header, [2][]byte{keyTTL, u64(uint64(td.TTL))})
	}
	for _, kv := range header {
		if err := tb.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// refEntries adds the entries of td to its table bucket tb and to d.
func refEntries(tb *bolt.Bucket, td engine.TableData, version int, d *refDigest) error {
	data, err := tb.CreateBucket(bucketData)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(td.Dict)) {
		v := refStored(td.Dict[k], version)
		d.field([]byte(k))
		d.field(v)
		dst, key := data, []byte(k)
		if k == "" {
			dst, key = tb, keyEmpty
		}
		if err := dst.Put(key, v); err != nil {
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
	return nil
}

// refStored returns the bytes the file holds for the dict entry e, as the
// package documentation describes them: in format 2 the bare value.
func refStored(e engine.Entry, version int) []byte {
	if version == 2 {
		return e.V
	}
	var b []byte
	if e.Exp == 0 {
		b = binary.AppendUvarint([]byte{0}, e.Ver)
	} else {
		b = binary.AppendUvarint([]byte{1}, e.Ver)
		b = binary.BigEndian.AppendUint64(b, uint64(e.Exp))
	}
	return append(b, e.V...)
}

// u64 returns n as 8 bytes big-endian.
func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

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
		td := engine.TableData{Name: name, Kind: engine.KindDict, LSN: uint64(n), Rev: uint64(n) << 20, Dict: map[string]engine.Entry{}}
		if n%2 == 1 {
			td.TTL = int64(n) * 1e9
		}
		for i := range n {
			e := engine.Entry{V: val(i), Ver: uint64(i) << (i % 64)}
			if i%2 == 1 {
				e.Exp = int64(i) << 40
			}
			td.Dict[key(i)] = e
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
		{"small", []engine.TableData{dict("d", 3, short, small), {Name: "l", Kind: engine.KindList, Rev: 9, List: [][]byte{v("a")}},
			{Name: "e", Kind: engine.KindDict, Rev: 12, TTL: 1, Dict: map[string]engine.Entry{"": {V: v("empty"), Ver: 11, Exp: -4}, "x": {V: v("x"), Ver: 12}}}}},
		{"branches", []engine.TableData{dict("d", 20_000, short, small), {Name: "l", Kind: engine.KindList, List: slices.Repeat([][]byte{v("x")}, 10_000)}}},
		{"big values", []engine.TableData{dict("d", 30, short, func(i int) []byte { return v(strings.Repeat("v", i*1000)) })}},
		{"long keys", []engine.TableData{dict("d", 200, long, small)}},
		{"many tables", many},
		{"long name", []engine.TableData{dict(strings.Repeat("n", MaxKeySize), 2, short, small)}},
		{"big empty", []engine.TableData{{Name: "e", Kind: engine.KindDict, Dict: map[string]engine.Entry{"": {V: v(strings.Repeat("e", 50_000)), Ver: 1 << 60}}}}},
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
			refWrite(t, want, l.tables, meta, 3)
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
	d := engine.TableData{Name: "d", Kind: engine.KindDict, LSN: 5, Rev: 3000, TTL: 30e9, Dict: map[string]engine.Entry{}}
	for i := range 1500 {
		e := engine.Entry{V: enc(fmt.Sprintf("value %d", i)), Ver: uint64(i) * 2}
		if i%5 == 0 {
			e.Exp = 1_700_000_000_000_000_000 + int64(i)
		}
		d.Dict[fmt.Sprintf("key-%06d", i)] = e
	}
	e := engine.TableData{Name: "e", Kind: engine.KindDict, LSN: 6, Rev: 9, Dict: map[string]engine.Entry{
		"": {V: enc(0), Ver: 8, Exp: 5}, "x": {V: enc("x"), Ver: 9},
	}}
	l := engine.TableData{Name: "l", Kind: engine.KindList, LSN: 7, Rev: 500}
	for i := range 500 {
		l.List = append(l.List, enc(i))
	}
	big := engine.TableData{Name: "big", Kind: engine.KindDict, LSN: 8, Rev: 3, Dict: map[string]engine.Entry{}}
	for i := range 3 {
		big.Dict[fmt.Sprint(i)] = engine.Entry{V: enc(strings.Repeat("b", 10000*(i+1))), Ver: uint64(i) + 1}
	}
	return []engine.TableData{big, d, e, l}, Meta{LSN: 77, Clients: []byte("clients")}
}

// TestWrite_Golden checks that a file filled through bbolt's Put reads,
// and that Write writes the same buckets, keys and values, checksums
// included.
func TestWrite_Golden(t *testing.T) {
	tables, meta := goldenTables(t)
	golden := filepath.Join(t.TempDir(), "bbolt-writer.cdb")
	refWrite(t, golden, tables, meta, 3)
	got, gotMeta, err := Read(golden)
	if err != nil {
		t.Fatal(err)
	}
	if gotMeta.LSN != meta.LSN || string(gotMeta.Clients) != string(meta.Clients) {
		t.Fatalf("read %+v", gotMeta)
	}
	if sorted := sortedByName(tables); !reflect.DeepEqual(got, sorted) {
		t.Fatal("read other tables than were written")
	}
	path := filepath.Join(t.TempDir(), "new.cdb")
	if err := Write(path, tables, meta); err != nil {
		t.Fatal(err)
	}
	if g, w := dump(t, path), dump(t, golden); !slices.Equal(g, w) {
		t.Fatalf("got %d entries, want %d; first difference:\n%s", len(g), len(w), firstDiff(g, w))
	}
}

// sortedByName returns a copy of tables in name order.
func sortedByName(tables []engine.TableData) []engine.TableData {
	return slices.SortedFunc(slices.Values(tables), func(a, b engine.TableData) int { return strings.Compare(a.Name, b.Name) })
}
