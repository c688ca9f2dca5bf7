package backup

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"runtime"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	bolt "go.etcd.io/bbolt"
)

// minEntrySize is the fewest bytes of file one entry takes, which bounds
// the count a file of a given size can honestly claim.
const minEntrySize = elementSize + 2

// Read returns the tables stored at path by Write, sorted by name, and the
// store-wide meta. It also reads format "cyberdb-go/2", whose tables come
// back with Rev, TTL and every Ver and Exp 0. It returns all of them or an
// error: os.ErrNotExist (wrapped) when there is no file, ErrForeign when
// the file is not a backup of either format, and ErrCorrupt when its
// pages, counts, checksums, entry headers or values are damaged. It waits
// up to a second for a process holding the file open for writing. The
// value slices of the result are freshly allocated and owned by the
// caller.
func Read(path string) ([]engine.TableData, Meta, error) {
	var tables []engine.TableData
	var meta Meta
	err := view(path, func(tx *bolt.Tx, size int64, h *fileHeader) error {
		meta = Meta{LSN: h.lsn, Clients: bytes.Clone(h.clients)}
		return eachTable(tx, size, h, func(t *tableReader) error {
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
	format  string // Format or formatV2
	version int    // 3 or 2, by format
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
	version, err := formatVersion(format)
	if err != nil {
		return nil, err
	}
	n, lsn, crc := mb.Get(keyTables), mb.Get(keyLSN), mb.Get(keyCRC)
	switch {
	case len(n) != 8:
		return nil, corrupt("table count of %d bytes", len(n))
	case len(lsn) != 8 || len(crc) != 4:
		return nil, corrupt("the store's lsn or crc is missing")
	}
	h := &fileHeader{format: string(format), version: version, tables: binary.BigEndian.Uint64(n),
		lsn: binary.BigEndian.Uint64(lsn), clients: mb.Get(keyClients)}
	if got, want := metaSum(h.lsn, h.clients), binary.BigEndian.Uint32(crc); got != want {
		return nil, corrupt("store checksum mismatch: stored %08x, computed %08x", want, got)
	}
	if h.clients != nil && len(h.clients) == 0 {
		h.clients = nil
	}
	return h, nil
}

// formatVersion returns the version of a format marker: 3 for Format, 2
// for formatV2.
func formatVersion(format []byte) (int, error) {
	switch {
	case format == nil:
		return 0, corrupt("no format marker: the file was not completely written")
	case string(format) == Format:
		return 3, nil
	case string(format) == formatV2:
		return 2, nil
	}
	return 0, foreign("format %q, this build reads %q and %q", clip(string(format)), Format, formatV2)
}

// eachTable calls fn for every table, in name order, and checks that there
// are as many as h declares.
func eachTable(tx *bolt.Tx, size int64, h *fileHeader, fn func(*tableReader) error) error {
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
		t, err := openTable(k, tb.Bucket(k), size, h.version)
		if err == nil {
			err = fn(t)
		}
		if err != nil {
			return inTable(k, err)
		}
		seen++
	}
	if seen != h.tables {
		return corrupt("%d tables found, the file declares %d", seen, h.tables)
	}
	return nil
}

// tableReader reads and checks one table.
type tableReader struct {
	name    string
	version int // of the file's format: 2 or 3
	kind    engine.Kind
	lsn     uint64
	rev     uint64
	ttl     int64
	count   uint64
	crc     uint32
	empty   []byte // the stored entry of the dict key "", nil if none
	data    *bolt.Bucket
}

// openTable reads the header of the table bucket b called name, of a
// file of the given format version.
func openTable(name []byte, b *bolt.Bucket, size int64, version int) (*tableReader, error) {
	if b == nil {
		return nil, corrupt("not a bucket")
	}
	t := &tableReader{name: string(name), version: version, data: b.Bucket(bucketData)}
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
	case t.ttl != 0 && t.kind != engine.KindDict:
		return nil, corrupt("a list with a ttl")
	case t.count > uint64(size)/minEntrySize:
		return nil, corrupt("%d entries cannot fit in %d bytes", t.count, size)
	}
	return t, nil
}

// The keys a table bucket must hold, as bits of a set.
const (
	hasKind = 1 << iota
	hasLSN
	hasRev // from format 3 on
	hasCount
	hasCRC
)

// headerKeys names the bits of hasKind and the others, in order.
var headerKeys = [...]string{"kind", "lsn", "rev", "count", "crc"}

// header reads the keys of the table bucket b, rejecting unknown or
// missing ones.
func (t *tableReader) header(b *bolt.Bucket) error {
	have := 0
	var prev []byte
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return corrupt("key %q is out of order", clip(string(k)))
		}
		bit, err := t.headerKey(k, v)
		if err != nil {
			return err
		}
		have |= bit
		prev = k
	}
	want := hasKind | hasLSN | hasCount | hasCRC
	if t.version >= 3 {
		want |= hasRev
	}
	if missing := want &^ have; missing != 0 {
		return corrupt("the %s key is missing", headerKeys[bits.TrailingZeros(uint(missing))])
	}
	return nil
}

// headerKey reads key k, of value v (nil for a bucket), of a table bucket
// and returns its bit among the required keys (0 for the others).
func (t *tableReader) headerKey(k, v []byte) (int, error) {
	v3 := t.version >= 3
	switch {
	case bytes.Equal(k, bucketData) && v == nil:
		return 0, nil
	case bytes.Equal(k, keyKind) && len(v) == 1:
		t.kind = engine.Kind(v[0])
		return hasKind, nil
	case bytes.Equal(k, keyCount) && len(v) == 8:
		t.count = binary.BigEndian.Uint64(v)
		return hasCount, nil
	case bytes.Equal(k, keyCRC) && len(v) == 4:
		t.crc = binary.BigEndian.Uint32(v)
		return hasCRC, nil
	case bytes.Equal(k, keyLSN) && len(v) == 8:
		t.lsn = binary.BigEndian.Uint64(v)
		return hasLSN, nil
	case bytes.Equal(k, keyRev) && len(v) == 8 && v3:
		t.rev = binary.BigEndian.Uint64(v)
		return hasRev, nil
	case bytes.Equal(k, keyTTL) && len(v) == 8 && v3:
		if t.ttl = int64(binary.BigEndian.Uint64(v)); t.ttl <= 0 {
			return 0, corrupt("ttl %d is not positive", t.ttl)
		}
		return 0, nil
	case bytes.Equal(k, keyEmpty) && v != nil:
		t.empty = v
		return 0, nil
	}
	return 0, corrupt("unexpected key %q (%d bytes)", clip(string(k)), len(v))
}

// each calls fn for every entry in order, checking keys and entries, then
// the count and the checksum. A list's entries hold only a value. The
// slices passed to fn are valid only during the transaction.
func (t *tableReader) each(fn func(k []byte, e engine.Entry)) error {
	d := newDigest(t.name, t.kind, t.lsn)
	if t.version >= 3 {
		d.addRevTTL(t.rev, t.ttl)
	}
	var n uint64
	if t.empty != nil {
		e, err := t.entry(d, n, nil, nil, t.empty)
		if err != nil {
			return err
		}
		fn(nil, e)
		n++
	}
	var prev []byte
	c := t.data.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e, err := t.entry(d, n, prev, k, v)
		if err != nil {
			return err
		}
		fn(k, e)
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

// entry checks entry n, whose key k follows prev and whose stored bytes
// are v, adds it to d and decodes it.
func (t *tableReader) entry(d *digest, n uint64, prev, k, v []byte) (engine.Entry, error) {
	switch {
	case n >= t.count:
		return engine.Entry{}, corrupt("more entries than the %d the header says", t.count)
	case v == nil:
		return engine.Entry{}, corrupt("entry %d is a bucket", n)
	case t.kind == engine.KindList && (len(k) != 8 || binary.BigEndian.Uint64(k) != n):
		return engine.Entry{}, corrupt("entry %d has key %x, not its index", n, k)
	case t.kind == engine.KindDict && prev != nil && bytes.Compare(prev, k) >= 0:
		return engine.Entry{}, corrupt("key %q is out of order", clip(string(k)))
	}
	e, err := t.decode(v)
	if err != nil {
		return engine.Entry{}, corrupt("entry %d (key %q): %v", n, clip(string(k)), err)
	}
	d.entry(k, nil, v)
	return e, nil
}

// decode returns the entry stored as v: a dict entry of format 3 has a
// header, the others are a bare value.
func (t *tableReader) decode(v []byte) (engine.Entry, error) {
	if t.kind == engine.KindDict && t.version >= 3 {
		return parseEntry(v)
	}
	return engine.Entry{V: v}, checkValue(v)
}

// load reads the table into memory.
func (t *tableReader) load() (engine.TableData, error) {
	td := engine.TableData{Name: t.name, Kind: t.kind, LSN: t.lsn, Rev: t.rev, TTL: t.ttl}
	var a arena
	if t.kind == engine.KindDict {
		err := t.loadDict(&td, &a)
		return td, err
	}
	td.List = make([][]byte, 0, t.count)
	err := t.each(func(_ []byte, e engine.Entry) { td.List = append(td.List, a.copy(e.V)) })
	return td, err
}

// loadDict reads the dict into td.Dict, copying its values into a and its
// keys into blocks of their own: a key lives as long as its entry, and
// would otherwise keep the values of its block alive after they are
// replaced. A large dict's map is filled by a goroutine of its own while
// the entries are read and checked, when there is a processor to run it.
func (t *tableReader) loadDict(td *engine.TableData, a *arena) error {
	var keys arena
	if t.count < parallelFill || runtime.GOMAXPROCS(0) < 2 {
		td.Dict = make(map[string]engine.Entry, t.count)
		return t.each(func(k []byte, e engine.Entry) {
			e.V = a.copy(e.V)
			td.Dict[keys.string(k)] = e
		})
	}
	f := newFiller(int(t.count))
	defer func() { td.Dict = f.wait() }()
	return t.each(func(k []byte, e engine.Entry) {
		e.V = a.copy(e.V)
		f.add(keys.string(k), e)
	})
}
