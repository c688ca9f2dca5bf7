package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// elect makes this process the leader if it can take the lock, and
// otherwise attaches to the leader that holds it. It retries with backoff
// while neither works (a leader starting up or just gone) until ctx ends.
func (db *DB) elect(ctx context.Context) (role, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		r, err := db.tryElect(ctx)
		if r != nil || isFatal(err) {
			return r, err
		}
		lastErr = err
		if !sleepCtx(ctx, backoff(attempt)) {
			return nil, fmt.Errorf("cyberdb: no leader answered at %s within %v: %w", db.sockPath(), db.opts.OpenTimeout, lastErr)
		}
	}
}

// tryElect makes one attempt at leading, then at attaching. A closing
// DB takes no part, so it never leads just to hand over again.
func (db *DB) tryElect(ctx context.Context) (role, error) {
	select {
	case <-db.done:
		return nil, fatalError{ErrClosed}
	default:
	}
	won, err := db.lock.tryLock()
	if err != nil {
		return nil, err
	}
	if won {
		l, err := db.lead()
		if err != nil {
			db.lock.unlock()
			return nil, fatalError{err}
		}
		return l, nil
	}
	w, err := db.attach(ctx)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// fatalError marks an election failure that retrying cannot mend.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// isFatal reports whether an election error ends the election.
func isFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f) || errors.Is(err, ErrVersionMismatch) || errors.Is(err, ErrDenied)
}

// backoff returns the pause before election attempt n+1: 1 ms doubling
// to 10 ms. Short, because a new leader accepts connections as soon as it
// holds the lock, and an attempt costs only a failed connect.
func backoff(n int) time.Duration {
	return min(time.Millisecond<<min(n, 4), 10*time.Millisecond)
}

// sleepCtx waits d and reports false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (db *DB) sockPath() string { return filepath.Join(db.dir, sockName) }

// watch re-elects whenever the current role is lost (the leader died or
// closed), until the DB is closed.
func (db *DB) watch() {
	defer db.wg.Done()
	for {
		db.mu.Lock()
		r := db.role
		db.mu.Unlock()
		if r == nil {
			return
		}
		select {
		case <-db.done:
			return
		case <-r.lost():
		}
		db.log.Info("cyberdb: leader lost; electing a new one")
		r.close()
		db.setRole(nil)
		if !db.reelect() {
			return
		}
	}
}

// reelect runs elections until one succeeds or the DB is closed. A fatal
// failure is reported to waiting callers and retried at a slower pace.
func (db *DB) reelect() bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-db.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		r, err := db.elect(ctx)
		if err == nil {
			if db.setRole(r) {
				db.log.Info("cyberdb: elected", "leader", r.isLeader())
				return true
			}
			r.close()
			return false
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return false
		}
		db.setFatal(err)
		if !sleepCtx(ctx, time.Second) {
			return false
		}
	}
}

// setFatal records why elections fail, so waiting calls return it.
func (db *DB) setFatal(err error) {
	db.log.Error("cyberdb: election failed", "err", err)
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return
	}
	db.fatal = err
	close(db.changed)
	db.changed = make(chan struct{})
}
