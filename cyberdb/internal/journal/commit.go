package journal

import "time"

// run is the committer: it commits the pending records whenever woken (or
// every interval) until Close.
func (j *Journal) run(interval time.Duration) {
	defer close(j.exited)
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	var gather time.Duration // how long to wait for a full batch
	for {
		select {
		case <-j.stop:
			return
		case <-j.wake:
			switch {
			case j.delay > 0:
				if j.pending() > 0 { // not a token left by a Sync
					j.pause()
				}
			case j.group:
				j.gather(gather)
			}
		case <-tick:
		}
		start := time.Now()
		if n, _ := j.commit(false); n > 0 {
			gather = min(max(time.Since(start)/2, minGather), maxGather)
		}
	}
}

// Bounds of the time a group commit waits for its batch to fill.
const (
	minGather = 50 * time.Microsecond
	maxGather = 2 * time.Millisecond
)

// gather waits up to d until as many records are pending as the previous
// commit wrote: the writers it released are likely to append again soon,
// and waiting a fraction of a commit for them saves a whole commit. Append
// sends a wake-up when the target is reached.
func (j *Journal) gather(d time.Duration) {
	if !j.short() {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for j.short() {
		select {
		case <-j.wake:
		case <-t.C:
			return
		case <-j.stop:
			return
		}
	}
}

// pause waits j.delay before a delayed commit, so that the records
// appended meanwhile share it, unless Sync asks for the commit now.
func (j *Journal) pause() {
	t := time.NewTimer(j.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-j.now:
	case <-j.stop:
	}
}

// short reports whether fewer records are pending than the target.
func (j *Journal) short() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.recs) > 0 && len(j.recs) < j.target
}

// pending returns how many records wait for a commit.
func (j *Journal) pending() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.recs)
}

// commit writes the buffered records at once and ends their
// batch. It returns how many records it tried to write and the error.
// Unless force is set it does nothing while a failed group commit awaits
// Discard.
func (j *Journal) commit(force bool) (int, error) {
	j.mu.Lock()
	if len(j.recs) == 0 || (j.stalled && !force) {
		j.mu.Unlock()
		return 0, nil
	}
	b, recs, to := j.cur, j.recs, j.last
	j.cur, j.recs, j.spare = nil, j.spare[:0], nil
	j.flying, j.flyTo = b, to
	j.mu.Unlock()

	err := j.write(to-uint64(len(recs))+1, recs)

	j.mu.Lock()
	j.flying = nil
	if err == nil {
		j.committed(to, recs)
	} else {
		err = j.failed(to, recs, err)
	}
	b.err = err
	j.mu.Unlock()
	close(b.done)
	return len(recs), err
}

// committed records the success of a commit up to LSN to.
func (j *Journal) committed(to uint64, recs [][]byte) {
	if j.err != nil {
		j.logger.Info("cyberdb: log commits succeed again", "path", j.path, "lsn", to)
	}
	j.durable, j.err, j.target = to, nil, len(recs)
	j.failing.Store(false)
	j.commits.Add(1)
	clear(recs)
	j.spare = recs[:0]
}

// failed records the failure of a commit of recs, up to LSN to: they go
// back in front of the buffer. It returns the error for the batch's
// waiters, which later waits for these records get too.
func (j *Journal) failed(to uint64, recs [][]byte, err error) error {
	err = commitError(j.path, err)
	if j.err == nil {
		j.logger.Error("cyberdb: log commit failed", "path", j.path, "records", len(recs), "err", err)
	}
	j.err = err
	j.failing.Store(true)
	j.recs = append(recs, j.recs...)
	if j.cur == nil {
		j.cur = newBatch()
	}
	j.stalled, j.failTo = j.group, to
	return err
}

// write stores recs, the first of which has LSN first, with one write and
// one fdatasync.
func (j *Journal) write(first uint64, recs [][]byte) error {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	return j.file.append(first, recs)
}
