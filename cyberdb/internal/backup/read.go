package backup

import (
	"bytes"
	"encoding/binary"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// minEntrySize is the fewest bytes of file one entry takes, which bounds
// the count a file of a given size can honestly claim.
const minEntrySize = elementSize + 2

// Read returns the tables stored at path by Write, sorted by name, and the
// store-wide meta. It returns all of them or an error: os.ErrNotExist (wrapped) when there is
// no file, ErrForeign when the file is not a backup of this format, and
// ErrCorrupt when its pages, counts, checksums or values are damaged. It
// waits up to a second for a process holding the file open for writing.
// The value slices of the result are freshly allocated and owned by the
// caller.
func Read(path string) ([]engine.TableData, Meta, error) {
	var tables []engine.TableData
	var meta Meta
	err := view(path, func(tx *bolt.Tx, size int64, h *fileHeader) error {
		meta = Meta{LSN: h.lsn, Clients: bytes.Clone(h.clients)}
		return eachTable(tx, size, h.tables, func(t *tableReader) error {
			td, err := t.load()
			tables = append(tables, td)
			return err
		})
	})
	if err != nil {
		return nil, Meta{}, readError(path, err)
	}
	return tables, meta, nil
}

// fileHeader is what the cyberdb bucket declares.
type fileHeader struct {
	tables  uint64 // the number of tables
	lsn     uint64
	clients []byte // valid during the transaction; nil if none
}

// checkMeta checks the cyberdb bucket and returns what it declares.
func checkMeta(tx *bolt.Tx) (*fileHeader, error) {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		if tx.Bucket(bucketTables) != nil {
			return nil, corrupt("the cyberdb bucket is missing")
		}
		return nil, foreign("a bbolt database without a cyberdb bucket")
	}
	format := mb.Get(keyFormat)
	switch {
	case format == nil:
		return nil, corrupt("no format marker: the file was not completely written")
	case string(format) != Format:
		return nil, foreign("format %q, this build reads %q", clip(string(format)), Format)
	}
	n, lsn, crc := mb.Get(keyTables), mb.Get(keyLSN), mb.Get(keyCRC)
	switch {
	case len(n) != 8:
		return nil, corrupt("table count of %d bytes", len(n))
	case len(lsn) != 8 || len(crc) != 4:
		return nil, corrupt("the store's lsn or crc is missing")
	}
	h := &fileHeader{tables: binary.BigEndian.Uint64(n), lsn: binary.BigEndian.Uint64(lsn), clients: mb.Get(keyClients)}
	if got, want := metaSum(h.lsn, h.clients), binary.BigEndian.Uint32(crc); got != want {
		return nil, corrupt("store checksum mismatch: stored %08x, computed %08x", want, got)
	}
	if h.clients != nil && len(h.clients) == 0 {
		h.clients = nil
	}
	return h, nil
}

// eachTable calls fn for every table, in name order, and checks that there
// are n of them.
func eachTable(tx *bolt.Tx, size int64, n uint64, fn func(*tableReader) error) error {
	tb := tx.Bucket(bucketTables)
	if tb == nil {
		return corrupt("the tables bucket is missing")
	}
	var seen uint64
	var prev []byte
	c := tb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		switch {
		case v != nil:
			return corrupt("tables: %q is not a bucket", clip(string(k)))
		case prev != nil && bytes.Compare(prev, k) >= 0:
			return corrupt("tables: %q is out of order", clip(string(k)))
		}
		prev = k
		t, err := openTable(k, tb.Bucket(k), size)
		if err == nil {
			err = fn(t)
		}
		if err != nil {
			return inTable(k, err)
		}
		seen++
	}
	if seen != n {
		return corrupt("%d tables found, the file declares %d", seen, n)
	}
	return nil
}

// tableReader reads and checks one table.
type tableReader struct {
	name  string
	kind  engine.Kind
	lsn   uint64
	count uint64
	crc   uint32
	empty []byte // the value of the dict key "", nil if none
	data  *bolt.Bucket
}

// openTable reads the header of the table bucket b called name.
func openTable(name []byte, b *bolt.Bucket, size int64) (*tableReader, error) {
	if b == nil {
		return nil, corrupt("not a bucket")
	}
	t := &tableReader{name: string(name), data: b.Bucket(bucketData)}
	if err := t.header(b); err != nil {
		return nil, err
	}
	switch {
	case t.data == nil:
		return nil, corrupt("the data bucket is missing")
	case t.kind != engine.KindDict && t.kind != engine.KindList:
		return nil, corrupt("unknown kind %d", t.kind)
	case t.empty != nil && t.kind != engine.KindDict:
		return nil, corrupt("a list with a dict entry")
	case t.count > uint64(size)/minEntrySize:
		return nil, corrupt("%d entries cannot fit in %d bytes", t.count, size)
	}
	return t, nil
}

// header reads the keys of the table bucket b, rejecting unknown ones.
func (t *tableReader) header(b *bolt.Bucket) error {
	var have [4]bool
	var prev []byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		switch {
		case prev != nil && bytes.Compare(prev, k) >= 0:
			return corrupt("key %q is out of order", clip(string(k)))
		case bytes.Equal(k, bucketData) && v == nil:
		case bytes.Equal(k, keyKind) && len(v) == 1:
			t.kind, have[0] = engine.Kind(v[0]), true
		case bytes.Equal(k, keyCount) && len(v) == 8:
			t.count, have[1] = binary.BigEndian.Uint64(v), true
		case bytes.Equal(k, keyCRC) && len(v) == 4:
			t.crc, have[2] = binary.BigEndian.Uint32(v), true
		case bytes.Equal(k, keyLSN) && len(v) == 8:
			t.lsn, have[3] = binary.BigEndian.Uint64(v), true
		case bytes.Equal(k, keyEmpty) && v != nil:
			t.empty = v
		default:
			return corrupt("unexpected key %q (%d bytes)", clip(string(k)), len(v))
		}
		prev = k
	}
	if !have[0] || !have[1] || !have[2] || !have[3] {
		return corrupt("kind, lsn, count or crc is missing")
	}
	return nil
}

// each calls fn for every entry in order, checking keys and values, then
// the count and the checksum. The slices passed to fn are valid only
// during the transaction.
func (t *tableReader) each(fn func(k, v []byte)) error {
	d := newDigest(t.name, t.kind, t.lsn)
	var n uint64
	if t.empty != nil {
		if err := t.entry(d, n, nil, nil, t.empty); err != nil {
			return err
		}
		fn(nil, t.empty)
		n++
	}
	var prev []byte
	c := t.data.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := t.entry(d, n, prev, k, v); err != nil {
			return err
		}
		fn(k, v)
		prev = k
		n++
	}
	if n != t.count {
		return corrupt("%d entries found, the header says %d", n, t.count)
	}
	if d.sum() != t.crc {
		return corrupt("checksum mismatch: stored %08x, computed %08x", t.crc, d.sum())
	}
	return nil
}

// entry checks entry n, whose key k follows prev, and adds it to d.
func (t *tableReader) entry(d *digest, n uint64, prev, k, v []byte) error {
	switch {
	case n >= t.count:
		return corrupt("more entries than the %d the header says", t.count)
	case v == nil:
		return corrupt("entry %d is a bucket", n)
	case t.kind == engine.KindList && (len(k) != 8 || binary.BigEndian.Uint64(k) != n):
		return corrupt("entry %d has key %x, not its index", n, k)
	case t.kind == engine.KindDict && prev != nil && bytes.Compare(prev, k) >= 0:
		return corrupt("key %q is out of order", clip(string(k)))
	}
	if err := checkValue(v); err != nil {
		return corrupt("entry %d (key %q): %v", n, clip(string(k)), err)
	}
	d.entry(k, v)
	return nil
}

// load reads the table into memory.
func (t *tableReader) load() (engine.TableData, error) {
	td := engine.TableData{Name: t.name, Kind: t.kind, LSN: t.lsn}
	var a arena
	if t.kind == engine.KindDict {
		td.Dict = make(map[string][]byte, t.count)
		return td, t.each(func(k, v []byte) { td.Dict[string(k)] = a.copy(v) })
	}
	td.List = make([][]byte, 0, t.count)
	return td, t.each(func(_, v []byte) { td.List = append(td.List, a.copy(v)) })
}

// arenaChunk is the size of the blocks arena copies small values into: big
// enough to save most allocations, small enough that a few surviving
// values do not pin much memory.
const arenaChunk = 64 << 10

// arena copies values into shared blocks.
type arena struct {
	buf []byte
}

// copy returns a copy of v whose capacity ends with it.
func (a *arena) copy(v []byte) []byte {
	if len(v) > arenaChunk/16 {
		return bytes.Clone(v)
	}
	if cap(a.buf)-len(a.buf) < len(v) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, v...)
	return a.buf[n:len(a.buf):len(a.buf)]
}
