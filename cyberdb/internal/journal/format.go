package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
)

// Format is the format marker of a log file: the first line of its
// header.
const Format = "cyberdb-go/log2"

// Layout of a log file. All integers are little-endian.
//
//	header  Format "\n" (16 bytes), version uint32, 4 zero bytes
//	record  length uint32: bytes of LSN and payload (8 + len(payload))
//	        CRC-32C (Castagnoli) of the LSN bytes and the payload, uint32
//	        LSN uint64
//	        payload
//
// The records follow the header back to back, with increasing LSNs. The
// file may go on with zeros (space reserved ahead of the records): a zero
// record header ends the log.
const (
	magic      = Format + "\n"
	version    = 1
	headerSize = 24
	recHeader  = 16                 // length, CRC and LSN of a record
	lsnSize    = 8                  // the part of length that is not payload
	maxRecord  = 1<<30 + lsnSize    // the longest length a record may have
	boltMagic  = uint32(0xED0CDAED) // at offset 16 of a bbolt file
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendHeader appends the file header to dst.
func appendHeader(dst []byte) []byte {
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint32(dst, version)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// checkHeader returns why h, the first bytes of a file, is not the header
// of a log of this format, or nil.
func checkHeader(h []byte) error {
	switch {
	case len(h) >= 20 && binary.LittleEndian.Uint32(h[16:]) == boltMagic:
		return foreign("a bbolt file (an operation log of format cyberdb-go/log1, or another database); this build reads %q", Format)
	case len(h) < headerSize:
		return foreign("%d bytes, shorter than a log header", len(h))
	case string(h[:len(magic)]) != magic:
		return foreign("header %.24q, this build reads %q", firstLine(h[:len(magic)]), Format)
	}
	if v := binary.LittleEndian.Uint32(h[len(magic):]); v != version {
		return foreign("format %s version %d, this build reads version %d", Format, v, version)
	}
	return nil
}

// firstLine returns b up to its first newline.
func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// appendRecord appends the stored form of rec, with its LSN, to dst.
func appendRecord(dst []byte, lsn uint64, rec []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(lsnSize+len(rec)))
	crcAt := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, lsn)
	dst = append(dst, rec...)
	binary.LittleEndian.PutUint32(dst[crcAt:], crc32.Checksum(dst[crcAt+4:], castagnoli))
	return dst
}

// recordCRC returns the checksum of a record from the LSN bytes of its
// header and its payload.
func recordCRC(lsn, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lsn, castagnoli), castagnoli, payload)
}

// recordSize returns the bytes a record with a payload of n bytes takes.
func recordSize(n int) int64 { return int64(recHeader + n) }

// checksumMismatch describes a record whose checksum is wrong.
func checksumMismatch(stored, computed uint32) string {
	return fmt.Sprintf("checksum mismatch: stored %08x, computed %08x", stored, computed)
}
