package backup

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// entryHasExp is the flag of an entry header followed by a deadline.
const entryHasExp = 0x01

// maxEntryHeader is the longest entry header: flags, version, deadline.
const maxEntryHeader = 1 + binary.MaxVarintLen64 + 8

// appendEntryHeader appends the header of e, which precedes its value in
// the file, to dst.
func appendEntryHeader(dst []byte, e *engine.Entry) []byte {
	if e.Exp == 0 {
		return binary.AppendUvarint(append(dst, 0), e.Ver)
	}
	dst = binary.AppendUvarint(append(dst, entryHasExp), e.Ver)
	return binary.BigEndian.AppendUint64(dst, uint64(e.Exp))
}

// parseEntry decodes a stored dict entry: its header, then its value,
// which must be one well-formed CBOR item. The value of the result
// shares b.
func parseEntry(b []byte) (engine.Entry, error) {
	ver, exp, v, err := parseEntryHeader(b)
	if err == nil {
		err = checkValue(v)
	}
	if err != nil {
		return engine.Entry{}, err
	}
	return engine.Entry{V: v, Ver: ver, Exp: exp}, nil
}

// parseEntryHeader decodes the header at the start of a stored dict entry
// and returns the version, the deadline and the bytes after the header.
func parseEntryHeader(b []byte) (ver uint64, exp int64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, 0, nil, errors.New("entry header: empty entry")
	}
	flags := b[0]
	if flags&^entryHasExp != 0 {
		return 0, 0, nil, fmt.Errorf("entry header: unknown flags 0x%02x", flags)
	}
	ver, n := binary.Uvarint(b[1:])
	switch {
	case n <= 0:
		return 0, 0, nil, errors.New("entry header: malformed version")
	case n > 1 && b[n] == 0:
		return 0, 0, nil, errors.New("entry header: version not minimally encoded")
	}
	rest = b[1+n:]
	if flags&entryHasExp == 0 {
		return ver, 0, rest, nil
	}
	if len(rest) < 8 {
		return 0, 0, nil, errors.New("entry header: deadline cut short")
	}
	if exp = int64(binary.BigEndian.Uint64(rest)); exp == 0 {
		return 0, 0, nil, errors.New("entry header: deadline flagged but 0")
	}
	return ver, exp, rest[8:], nil
}
