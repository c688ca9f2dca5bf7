package journal

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/durable"
)

// trimCopyMax is how many bytes of records Trim copies to drop any number
// of records; beyond it, Trim copies no more bytes than it drops.
const trimCopyMax = 1 << 20

// Trim deletes the committed records with LSN up to upto, once a snapshot
// covers them. It rewrites the log with the records after upto, which
// pauses commits meanwhile; when that would copy more than it drops, it
// keeps the file as it is (Replay skips the records a snapshot covers).
func (j *Journal) Trim(upto uint64) error {
	j.fmu.Lock()
	err := j.file.trim(upto)
	j.fmu.Unlock()
	if err != nil {
		return fmt.Errorf("cyberdb: trim log %s up to %d: %w", j.path, upto, err)
	}
	return nil
}

// trim replaces the file with one that holds the records after upto.
func (lf *logFile) trim(upto uint64) error {
	if err := lf.ensureOpen(); err != nil {
		return err
	}
	off, _, next, err := lf.find(min(upto, lf.last))
	if err != nil {
		return err
	}
	drop, keep := off-headerSize, lf.end-off
	if drop == 0 || (keep > drop && keep > trimCopyMax) {
		return nil
	}
	nf, err := lf.copyTail(off)
	if nf != nil {
		lf.adopt(nf, off, next)
	}
	return err
}

// copyTail writes a new log at path+".tmp" with the records from offset
// off on, locks it and renames it over the log. It returns the new file
// once it is renamed, with an error if the directory could not be synced.
func (lf *logFile) copyTail(off int64) (nf *os.File, err error) {
	tmp := lf.tmpPath()
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := lf.fill(f, off); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, lf.path); err != nil {
		return nil, err
	}
	renamed = true
	if !lf.noSync {
		err = durable.SyncDir(filepath.Dir(lf.path))
	}
	return f, err
}

// fill locks f, a new file, and writes to it the header and the records
// from offset off on, durably.
func (lf *logFile) fill(f *os.File, off int64) error {
	if err := tryLock(f); err != nil {
		return err
	}
	if _, err := f.Write(appendHeader(nil)); err != nil {
		return err
	}
	if _, err := io.Copy(f, io.NewSectionReader(lf.f, off, lf.end-off)); err != nil {
		return err
	}
	if lf.noSync {
		return nil
	}
	return f.Sync()
}

// adopt makes nf, which holds the records from offset off on of the old
// file (the first with LSN next), the log file, and closes the old one.
func (lf *logFile) adopt(nf *os.File, off int64, next uint64) {
	_ = lf.f.Close()
	shift := off - headerSize
	i := sort.Search(len(lf.index), func(i int) bool { return lf.index[i].off >= off })
	index := make([]mark, 0, len(lf.index)-i+1)
	if next != 0 && (i == len(lf.index) || lf.index[i].off != off) {
		index = append(index, mark{lsn: next, off: headerSize})
	}
	for _, m := range lf.index[i:] {
		index = append(index, mark{lsn: m.lsn, off: m.off - shift})
	}
	lf.f, lf.index = nf, index
	lf.end -= shift
	lf.alloc, lf.cut, lf.torn, lf.growAt = lf.end, false, false, 0
}

// tmpPath returns where Trim writes the new file.
func (lf *logFile) tmpPath() string { return lf.path + ".tmp" }
