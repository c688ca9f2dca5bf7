package journal

import (
	"context"
	"fmt"
)

// Append assigns rec the next LSN, buffers it for the committer and
// returns the LSN. It never does I/O, so it may be called while holding
// locks. The journal owns rec from then on: the caller must not modify it.
// After Close the record is dropped.
func (j *Journal) Append(rec []byte) uint64 {
	j.mu.Lock()
	j.last++
	lsn := j.last
	if !j.closed {
		if j.cur == nil {
			j.cur = newBatch()
		}
		j.recs = append(j.recs, rec)
	}
	n := len(j.recs)
	wake := j.group && (n == 1 || n == j.target && j.delay == 0)
	j.mu.Unlock()
	if wake {
		signal(j.wake)
	}
	return lsn
}

// Wait returns nil once the record lsn is committed. If the commit that
// tried to write it failed it returns that error (wrapping ErrCommit), or
// the error the record was dropped with by Discard; if the journal was
// closed without committing it, ErrClosed; if ctx ends first, ctx.Err().
func (j *Journal) Wait(ctx context.Context, lsn uint64) error {
	j.mu.Lock()
	b, err := j.batchOf(lsn)
	j.mu.Unlock()
	if b == nil {
		return err
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchOf returns the batch holding record lsn, or nil and the result Wait
// returns at once.
func (j *Journal) batchOf(lsn uint64) (*batch, error) {
	switch {
	case lsn <= j.durable:
		return nil, nil
	case j.closed:
		return nil, ErrClosed
	case lsn > j.last:
		return nil, fmt.Errorf("cyberdb: wait for LSN %d, which is not assigned (last %d)", lsn, j.last)
	case j.flying != nil && lsn <= j.flyTo:
		return j.flying, nil
	case j.stalled && lsn <= j.failTo:
		return nil, j.err // its commit failed before this Wait
	}
	return j.cur, nil
}

// Sync commits the buffered records now, even in interval mode or with a
// delay, and waits for them like Wait.
func (j *Journal) Sync(ctx context.Context) error {
	lsn := j.Last()
	if j.delay > 0 {
		signal(j.now)
	}
	signal(j.wake)
	return j.Wait(ctx, lsn)
}

// Durable returns the highest committed LSN.
func (j *Journal) Durable() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.durable
}

// Last returns the highest assigned LSN.
func (j *Journal) Last() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// Err returns the error of the latest commit, wrapping ErrCommit and the
// cause (such as ENOSPC), or nil if it succeeded.
func (j *Journal) Err() error {
	if !j.failing.Load() {
		return nil // the common case, without taking the lock Append needs
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Discard drops every buffered record, ends the waits for them with the
// error of the latest commit (ErrDiscarded if it succeeded) and makes the
// next Append continue after the highest committed LSN, which it returns.
// A commit in progress finishes first. After a failed group commit, no
// commit is attempted until Discard is called.
func (j *Journal) Discard() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.flying != nil {
		done := j.flying.done
		j.mu.Unlock()
		<-done
		j.mu.Lock()
	}
	err := j.err
	if err == nil {
		err = ErrDiscarded
	}
	j.failCur(err)
	clear(j.recs)
	j.recs = j.recs[:0]
	j.last, j.stalled = j.durable, false
	return j.durable
}

// SetNext makes the next Append assign lsn+1, unless the log already holds
// or has assigned a higher LSN. It is meant for a restore from a snapshot
// whose LSN is past the end of the log: LSNs up to lsn then count as
// committed. It does nothing while records are buffered or being
// committed.
func (j *Journal) SetNext(lsn uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.recs) > 0 || j.flying != nil {
		j.logger.Error("cyberdb: log SetNext ignored: records are pending", "path", j.path, "lsn", lsn)
		return
	}
	if lsn > j.last {
		j.last, j.durable = lsn, lsn
	}
}

// signal leaves a token in c, a channel of capacity 1, unless one is
// there already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
