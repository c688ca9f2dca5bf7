package cyberdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
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

// writeTerm stores term at path durably: a new file synced, renamed into
// place and its directory synced.
func writeTerm(path string, term uint64) error {
	b := binary.BigEndian.AppendUint64(nil, term)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
