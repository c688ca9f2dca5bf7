package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// recoverDead puts the jobs of dead workers back at the front of the
// queue. A worker is dead when its lock can be taken: it holds the lock
// while it lives, and the lock is released when its process dies.
func recoverDead(ctx context.Context, db *cyberdb.DB) error {
	tables, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	jobs, err := db.List(ctx, jobsTable)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if id, ok := strings.CutPrefix(t.Name, inflightPrefix); ok {
			if err := recoverWorker(ctx, db, jobs, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// recoverWorker moves the jobs of worker id, if it is dead, from its
// in-progress list back to the front of jobs. It holds the worker's lock
// meanwhile, so that no new worker id can start in the middle.
func recoverWorker(ctx context.Context, db *cyberdb.DB, jobs *cyberdb.List, id string) error {
	lock, err := db.TryLock(ctx, lockPrefix+id, lease)
	if errors.Is(err, cyberdb.ErrLocked) {
		return nil // alive
	}
	if err != nil {
		return err
	}
	inflight, err := db.List(ctx, inflightPrefix+id)
	if err == nil {
		err = moveBack(ctx, inflight, jobs, id)
	}
	return errors.Join(err, lock.Unlock(ctx))
}

// moveBack moves the jobs of inflight, the in-progress list of worker id,
// to the front of jobs, in their order.
func moveBack(ctx context.Context, inflight, jobs *cyberdb.List, id string) error {
	for {
		var j job
		moved, err := inflight.Move(ctx, jobs, cyberdb.Back, cyberdb.Front, &j)
		if err != nil || !moved {
			return err
		}
		fmt.Printf("recovered job %d of dead worker %s\n", j.ID, id)
	}
}
