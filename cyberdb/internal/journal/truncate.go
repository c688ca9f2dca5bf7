package journal

import (
	"fmt"
	"sort"
)

// Truncate deletes every record with LSN above after, such as the damaged
// tail that Replay reported, so that the next Append assigns after+1 and
// a later Replay reaches the records appended from then on. It must be
// called before the first Append.
func (j *Journal) Truncate(after uint64) error {
	j.mu.Lock()
	pending := len(j.recs) > 0 || j.flying != nil
	j.mu.Unlock()
	if pending {
		return fmt.Errorf("cyberdb: truncate log %s: records are pending", j.path)
	}
	j.fmu.Lock()
	err := j.file.truncate(after)
	j.fmu.Unlock()
	if err != nil {
		return fmt.Errorf("cyberdb: truncate log %s after %d: %w", j.path, after, err)
	}
	j.mu.Lock()
	j.last, j.durable = after, min(j.durable, after)
	j.mu.Unlock()
	return nil
}

// truncate cuts the file before the first record with LSN above after,
// and whatever damaged records follow the last intact one.
func (lf *logFile) truncate(after uint64) error {
	if err := lf.ensureOpen(); err != nil {
		return err
	}
	off, prev, _, err := lf.find(after)
	if err != nil {
		return err
	}
	if off == lf.end && !lf.cut {
		return nil
	}
	if err := lf.f.Truncate(off); err != nil {
		return err
	}
	if !lf.noSync {
		if err := lf.f.Sync(); err != nil {
			return err
		}
	}
	lf.end, lf.alloc, lf.cut, lf.torn, lf.last = off, off, false, false, prev
	i := sort.Search(len(lf.index), func(i int) bool { return lf.index[i].off >= off })
	lf.index = lf.index[:i]
	return nil
}

// find returns the offset of the first committed record with LSN above
// x (end if none), the LSN of the record before it (0 if none) and its
// own LSN (0 if none).
func (lf *logFile) find(x uint64) (off int64, prev, next uint64, err error) {
	i := sort.Search(len(lf.index), func(i int) bool { return lf.index[i].lsn > x })
	from := int64(headerSize)
	if i > 0 {
		from = lf.index[i-1].off
	}
	rd := newReader(lf.f, from, lf.end)
	for {
		e, ok, err := rd.next()
		switch {
		case err != nil:
			return 0, 0, 0, err
		case !ok, e.bad != "":
			return e.off, prev, 0, nil
		case e.lsn > x:
			return e.off, prev, e.lsn, nil
		}
		prev = e.lsn
	}
}
