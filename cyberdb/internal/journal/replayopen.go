package journal

import (
	"fmt"
	"os"
)

// ReplayOpen is Replay over the journal's own open file, for a caller that
// must rebuild its state from what is committed while the journal stays
// open. It sees only committed records.
func (j *Journal) ReplayOpen(after uint64, fn func(lsn uint64, rec []byte) error) (uint64, error) {
	f, end, err := j.committedFile()
	if err != nil {
		return after, fmt.Errorf("cyberdb: replay log %s: %w", j.path, err)
	}
	defer func() { _ = f.Close() }()
	r := &replayer{path: j.path, after: after, last: after, fn: fn}
	err = r.run(newReader(f, headerSize, end))
	if r.fnErr != nil {
		return r.last, r.fnErr
	}
	return r.last, err
}

// committedFile opens the log file for reading and returns it with the
// offset where its committed records end. The records before that offset
// do not change while the file is open: commits write after it, and Trim
// writes a new file.
func (j *Journal) committedFile() (*os.File, int64, error) {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	if err := j.file.ensureOpen(); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(j.path)
	return f, j.file.end, err
}
