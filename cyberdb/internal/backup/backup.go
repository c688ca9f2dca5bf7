// Package backup writes the engine's tables to a snapshot file and reads
// them back.
//
// A backup file is a bbolt database laid out as follows (bucket names end
// in a slash; bbolt keeps the keys of a bucket in byte order):
//
//	cyberdb/
//	  format          "cyberdb-go/3", written in the last transaction
//	  tables          uint64 big-endian: the number of tables
//	  lsn             uint64 big-endian: Meta.LSN
//	  clients         Meta.Clients, absent when empty
//	  crc             uint32 big-endian: CRC-32C of lsn followed by clients
//	tables/
//	  <name>/         one bucket per table, in byte order of the names
//	    kind          1 byte: 1 dict, 2 list
//	    lsn           uint64 big-endian: engine.TableData.LSN
//	    rev           uint64 big-endian: engine.TableData.Rev
//	    ttl           dicts only, when TableData.TTL is not 0: int64 big-endian, > 0
//	    count         uint64 big-endian: the number of entries
//	    crc           uint32 big-endian: CRC-32C of the table, see below
//	    empty         dicts only, when the dict holds the key "": its entry
//	    data/         dict: key -> entry; list: uint64 big-endian index -> value
//
// A value is one well-formed CBOR item: engine.Entry.V of a dict, an
// element of a list. A list stores its values as they are; a dict stores
// each entry as a header followed by the value:
//
//	flags           1 byte: 0x01 when a deadline follows; the other bits are 0
//	version         uvarint (encoding/binary), minimally encoded: Entry.Ver
//	deadline        only when flagged: Entry.Exp as int64 big-endian, not 0
//	value           the rest: Entry.V
//
// so an entry without a deadline and with a version below 128 costs two
// bytes more than its value.
//
// The crc of a table covers, in this order: the length of the name as a
// uint32 big-endian, the name, the kind byte, the 8 bytes of lsn, the 8
// bytes of rev, the TTL as an int64 big-endian (0 when there is no ttl
// key), and then for each entry in key order (the dict key "" first) the
// key length as a uint32 big-endian, the key, the length of the stored
// bytes as a uint32 big-endian and the stored bytes: for a dict the header
// and the value, for a list the value. For a list the key is the 8-byte
// index.
//
// Read and Stat also accept format "cyberdb-go/2", which differs only in
// the tables: they have no rev or ttl key, a dict stores bare values
// without a header, and the crc leaves out rev and the TTL. Its tables
// read with Rev, TTL and every Ver and Exp 0.
//
// Write builds the file next to its destination and renames it into place,
// so a reader sees either the previous file or the new one, never a mix.
// It lays out the bbolt pages itself, as bbolt would (see pager), which
// for a large table is several times faster than bbolt's Put.
// Read checks the page structure of the file before bbolt walks it, then
// the format, the counts, the checksums, the entry headers and that every
// value is one well-formed CBOR item; it returns all tables or an error,
// never part of them. Stat does the same checks without keeping the values.
//
// Write, Read and Stat may run concurrently, in any goroutines or
// processes; a Read that overlaps a Write of the same path returns the
// previous file or the new one.
package backup

import (
	"encoding/binary"
	"hash/crc32"
	"unsafe"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Format is the format marker Write stores. Read also accepts "cyberdb-go/2".
const Format = "cyberdb-go/3"

// formatV2 is the marker of the previous format, which Read still accepts.
const formatV2 = "cyberdb-go/2"

// Meta is the store-wide state a backup file holds besides its tables.
type Meta struct {
	// LSN is the log sequence number at which the snapshot began: the
	// log records up to it are reflected in the tables.
	LSN uint64
	// Clients is opaque state of the caller, such as what deduplicates
	// retried writes. Read returns nil for an empty one.
	Clients []byte
}

// MaxKeySize is the longest dict key and table name, in bytes, that a
// backup can hold.
const MaxKeySize = engine.MaxKeySize

// Bucket and key names of the layout.
var (
	bucketMeta   = []byte("cyberdb")
	bucketTables = []byte("tables")
	bucketData   = []byte("data")
	keyFormat    = []byte("format")
	keyTables    = []byte("tables")
	keyKind      = []byte("kind")
	keyCount     = []byte("count")
	keyCRC       = []byte("crc")
	keyEmpty     = []byte("empty")
	keyLSN       = []byte("lsn")
	keyRev       = []byte("rev")
	keyTTL       = []byte("ttl")
	keyClients   = []byte("clients")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// digest accumulates the crc of one table. It gathers small entries in
// buf before adding them, since each call to crc32.Update costs about as
// much as checksumming a hundred bytes.
type digest struct {
	crc uint32 // of the bytes before buf
	buf []byte
}

// digestBuf is how many bytes a digest gathers before adding them.
const digestBuf = 64 << 10

// newDigest starts the crc of the table called name of the given kind and
// LSN.
func newDigest(name string, kind engine.Kind, lsn uint64) *digest {
	d := &digest{}
	d.field(nil, bytesOf(name))
	d.buf = append(d.buf, byte(kind))
	d.buf = binary.BigEndian.AppendUint64(d.buf, lsn)
	return d
}

// addRevTTL adds the rev and TTL of the table, which format 2 leaves out.
func (d *digest) addRevTTL(rev uint64, ttl int64) {
	d.buf = binary.BigEndian.AppendUint64(d.buf, rev)
	d.buf = binary.BigEndian.AppendUint64(d.buf, uint64(ttl))
}

// metaSum returns the crc of the store-wide state.
func metaSum(lsn uint64, clients []byte) uint32 {
	sum := crc32.Checksum(binary.BigEndian.AppendUint64(nil, lsn), castagnoli)
	return crc32.Update(sum, castagnoli, clients)
}

// entry adds one key and its stored bytes, given as h followed by v.
func (d *digest) entry(k, h, v []byte) {
	d.field(nil, k)
	d.field(h, v)
}

// field adds h followed by b, preceded by their combined length.
func (d *digest) field(h, b []byte) {
	if len(d.buf)+4+len(h)+len(b) > digestBuf {
		d.flush()
	}
	d.buf = binary.BigEndian.AppendUint32(d.buf, uint32(len(h)+len(b)))
	d.buf = append(d.buf, h...)
	if len(b) > digestBuf/2 {
		d.flush()
		d.crc = crc32.Update(d.crc, castagnoli, b)
		return
	}
	d.buf = append(d.buf, b...)
}

// flush adds the gathered bytes to the sum.
func (d *digest) flush() {
	d.crc = crc32.Update(d.crc, castagnoli, d.buf)
	d.buf = d.buf[:0]
}

// sum returns the crc of everything added so far.
func (d *digest) sum() uint32 {
	d.flush()
	return d.crc
}

// bytesOf returns the bytes of s without copying; they must not be modified.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// indexKey returns the data key of list element i.
func indexKey(buf *[8]byte, i uint64) []byte {
	binary.BigEndian.PutUint64(buf[:], i)
	return buf[:]
}
