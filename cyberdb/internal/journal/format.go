package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"
)

// Format is the format marker of a log file.
const Format = "cyberdb-go/log1"

// Bucket and key names of the layout.
var (
	bucketLog  = []byte("log")
	bucketMeta = []byte("meta")
	keyFormat  = []byte("format")
)

// crcSize is the length of the checksum that precedes each record.
const crcSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// lsnKey returns the key of the record with the given LSN.
func lsnKey(buf *[8]byte, lsn uint64) []byte {
	binary.BigEndian.PutUint64(buf[:], lsn)
	return buf[:]
}

// keyLSN decodes a record key; ok is false if it is malformed.
func keyLSN(k []byte) (lsn uint64, ok bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// appendValue appends the stored form of rec to dst: its CRC-32C, then rec.
func appendValue(dst, rec []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(rec, castagnoli))
	return append(dst, rec...)
}

// decodeValue returns the record of a stored value, or why it is damaged.
func decodeValue(v []byte) ([]byte, string) {
	switch {
	case v == nil:
		return nil, "a nested bucket instead of a record"
	case len(v) < crcSize:
		return nil, fmt.Sprintf("value of %d bytes, shorter than its checksum", len(v))
	}
	rec := v[crcSize:]
	if want, got := binary.BigEndian.Uint32(v), crc32.Checksum(rec, castagnoli); want != got {
		return nil, fmt.Sprintf("checksum mismatch: stored %08x, computed %08x", want, got)
	}
	return rec, ""
}

// checkFormat checks the format marker of a log opened in tx. A file
// without buckets is a new log, which init prepares.
func checkFormat(tx *bolt.Tx) error {
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		if tx.Bucket(bucketLog) == nil && isEmpty(tx) {
			return nil
		}
		return foreign("no %q bucket", bucketMeta)
	}
	if f := mb.Get(keyFormat); string(f) != Format {
		return foreign("format %.64q, this build reads %q", f, Format)
	}
	if tx.Bucket(bucketLog) == nil {
		return foreign("no %q bucket", bucketLog)
	}
	return nil
}

// isEmpty reports whether tx sees no bucket at all.
func isEmpty(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k == nil
}

// initFile creates the buckets and the format marker of a new log.
func initFile(tx *bolt.Tx) error {
	if tx.Bucket(bucketMeta) != nil {
		return nil
	}
	mb, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := mb.Put(keyFormat, []byte(Format)); err != nil {
		return err
	}
	_, err = tx.CreateBucket(bucketLog)
	return err
}

// lastLSN returns the highest LSN stored in tx, 0 if none.
func lastLSN(tx *bolt.Tx) uint64 {
	k, _ := tx.Bucket(bucketLog).Cursor().Last()
	lsn, _ := keyLSN(k)
	return lsn
}
