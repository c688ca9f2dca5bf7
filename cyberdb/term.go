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

// pendingTerm is the term after the last leader's, which a new leader
// makes durable while it restores, so that the syncs of the term file
// overlap the restore.
type pendingTerm struct {
	done chan struct{} // closed once the write is over
	term uint64        // the last leader's term plus one; 0 if unreadable
	err  error         // of the read or the write
}

// startTerm makes the term after the last leader's durable in a goroutine
// of its own. It writes nothing if the term file is unreadable, which
// takeTerm then replaces once the restored revisions are known. The
// caller must call takeTerm or dropTerm before it releases the lock, so
// that no write of the term file outlives its leadership.
func (l *leader) startTerm() *pendingTerm {
	p := &pendingTerm{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		path := l.files.termFile()
		last, err := readTerm(path)
		if err != nil {
			l.db.log.Warn("cyberdb: the term file is unreadable; counting on the restored revisions", "path", path, "err", err)
			p.err = err
			return
		}
		p.term = last + 1
		p.err = writeTerm(path, p.term)
	}()
	return p
}

// wait returns once the goroutine of p is done with the term file.
func (p *pendingTerm) wait() { <-p.done }

// takeTerm returns the term after the last leader's, and after that of
// every revision restored, once it is durable: p's, unless the restored
// revisions need a higher one or p could not read or write the file, in
// which case it writes the term itself.
func (l *leader) takeTerm(p *pendingTerm) uint64 {
	p.wait()
	term := max(p.term, l.eng.Revision()>>termShift+1)
	if term == p.term && p.err == nil {
		return term
	}
	if err := writeTerm(l.files.termFile(), term); err != nil {
		l.db.log.Error("cyberdb: could not make the term durable; revisions may repeat after a crash that loses writes", "path", l.files.termFile(), "err", err)
	}
	return term
}

// dropTerm gives back the term p made durable, for a leader that failed
// to start and so handed out no revision of it, so that attempts that
// keep failing do not use up the terms.
func (l *leader) dropTerm(p *pendingTerm) {
	p.wait()
	if p.err != nil {
		return
	}
	if err := writeTerm(l.files.termFile(), p.term-1); err != nil {
		l.db.log.Warn("cyberdb: could not give back the term of a failed start", "path", l.files.termFile(), "err", err)
	}
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
