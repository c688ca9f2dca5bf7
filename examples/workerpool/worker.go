package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// runWorker attaches to the store in dir and works as worker id, each
// job taking work, until its stdin closes.
func runWorker(id, dir, work string) error {
	n, err := strconv.Atoi(id)
	if err != nil {
		return fmt.Errorf("bad worker number %q", id)
	}
	cost, err := time.ParseDuration(work)
	if err != nil {
		return err
	}
	db, err := cyberdb.Open(dir, &cyberdb.Options{Logger: storeLog})
	if err != nil {
		return err
	}
	ctx := untilStdinCloses()
	err = serve(ctx, db, n, cost)
	if ctx.Err() != nil {
		err = nil // told to stop; a job left in progress will be recovered
	}
	return errors.Join(err, db.Close())
}

// untilStdinCloses returns a context that ends when stdin closes: when
// the parent stops the workers, or dies.
func untilStdinCloses() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx
}

// serve holds the lock of worker id and does one job at a time until ctx
// ends or the lock is lost.
func serve(ctx context.Context, db *cyberdb.DB, id int, cost time.Duration) (err error) {
	lock, err := db.Lock(ctx, lockPrefix+strconv.Itoa(id), lease)
	if err != nil {
		return err
	}
	// Releasing the lock hands a job left in progress to recovery.
	defer func() { err = errors.Join(err, lock.Unlock(context.Background())) }()
	held, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	go keepLock(held, lock, lost)

	q, err := openQueue(held, db, id)
	if err != nil {
		return err
	}
	for {
		var j job
		err := q.jobs.MoveWait(held, q.inflight, cyberdb.Front, cyberdb.Back, &j)
		if err == nil {
			time.Sleep(cost) // the work
			err = q.finish(held, j, result{Worker: id, Square: j.N * j.N})
		}
		if err != nil {
			return errors.Join(err, context.Cause(held)) // the cause says why held ended, if it did
		}
	}
}

// keepLock refreshes the lease of lock until ctx ends. If the lock is
// lost, it ends ctx through lost: recovery may hand the job to another.
func keepLock(ctx context.Context, lock *cyberdb.Lock, lost context.CancelCauseFunc) {
	tick := time.NewTicker(refreshEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := lock.Refresh(ctx); err != nil {
			lost(fmt.Errorf("lost lock %s: %w", lock.Name(), err))
			return
		}
	}
}

// queue holds the tables a worker uses.
type queue struct {
	db       *cyberdb.DB
	jobs     *cyberdb.List // the queue
	inflight *cyberdb.List // the job this worker is doing
	results  *cyberdb.Dict
	stats    *cyberdb.Dict
}

// openQueue opens the tables the parent created, and the in-progress
// list of worker id.
func openQueue(ctx context.Context, db *cyberdb.DB, id int) (*queue, error) {
	jobs, err1 := db.List(ctx, jobsTable)
	inflight, err2 := db.EnsureList(ctx, inflightPrefix+strconv.Itoa(id))
	results, err3 := db.Dict(ctx, resultsTable)
	stats, err4 := db.Dict(ctx, statsTable)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	return &queue{db, jobs, inflight, results, stats}, nil
}

// finish records the result of j and removes j from the in-progress list
// in one transaction, so that j is done or in progress, never both or
// neither. The list holds j alone, as a worker takes one job at a time.
func (q *queue) finish(ctx context.Context, j job, r result) error {
	tx := q.db.Txn()
	tx.Set(q.results, key(j.ID), r)
	tx.Incr(q.stats, doneKey, 1)
	tx.Pop(q.inflight, 0)
	err := tx.Commit(ctx)
	if errors.Is(err, cyberdb.ErrIndex) {
		// The list is empty: this worker's lease ran out, and recovery put
		// j back in the queue. Nothing was applied.
		return fmt.Errorf("job %d was taken back from this worker: %w", j.ID, err)
	}
	return err
}
