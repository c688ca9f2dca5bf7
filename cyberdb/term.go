package cyberdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/durable"
)

// Each leader takes a term, one above the highest before it, and makes it
// durable before it serves. Revisions (the versions of keys, the
// positions of watches, the fencing tokens of locks) are the term shifted
// left by termShift plus a count within the term, so a revision handed
// out by a leader that died before its write was durable is never handed
// out again, for another write, by the next.

// termShift is the number of bits of a revision that count within a term.
const termShift = 40

// termFile is where the term of the last leader is kept.
func (f files) termFile() string { return f.backup + ".term" }

// takeTerm makes the term after the last leader's, and after that of
// every revision restored, durable and returns it.
func (l *leader) takeTerm() uint64 {
	path := l.files.termFile()
	last, err := readTerm(path)
	if err != nil {
		l.db.log.Warn("cyberdb: the term file is unreadable; counting on the restored revisions", "path", path, "err", err)
	}
	term := max(last, l.eng.Revision()>>termShift) + 1
	if err := writeTerm(path, term); err != nil {
		l.db.log.Error("cyberdb: could not make the term durable; revisions may repeat after a crash that loses writes", "path", path, "err", err)
	}
	return term
}

// readTerm returns the term stored at path, 0 when there is no file.
func readTerm(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0, fmt.Errorf("%w: term file of %d bytes fails its check", ErrCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// castagnoli is the CRC-32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeTerm stores term at path durably.
func writeTerm(path string, term uint64) error {
	b := binary.BigEndian.AppendUint64(nil, term)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return durable.WriteFile(path, b, 0o600)
}
