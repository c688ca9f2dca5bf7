package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// runWorker attaches to the store in dir and works until the queue is
// empty.
func runWorker(id, dir string) error {
	n, err := strconv.Atoi(id)
	if err != nil {
		return fmt.Errorf("bad worker number %q", id)
	}
	db, err := cyberdb.Open(dir, &cyberdb.Options{Logger: storeLog})
	if err != nil {
		return err
	}
	err = work(context.Background(), db, n)
	return errors.Join(err, db.Close())
}

// queue holds the tables a worker uses.
type queue struct {
	jobs    *cyberdb.TypedList[job]
	results *cyberdb.TypedDict[result]
	stats   *cyberdb.Dict
}

// openQueue opens the tables the parent created.
func openQueue(ctx context.Context, db *cyberdb.DB) (*queue, error) {
	jobs, err := db.List(ctx, jobsTable)
	if err != nil {
		return nil, err
	}
	results, err := db.Dict(ctx, resultsTable)
	if err != nil {
		return nil, err
	}
	stats, err := db.Dict(ctx, statsTable)
	if err != nil {
		return nil, err
	}
	return &queue{cyberdb.ListOf[job](jobs), cyberdb.DictOf[result](results), stats}, nil
}

// work pops jobs until the queue is empty and records their results.
func work(ctx context.Context, db *cyberdb.DB, worker int) error {
	q, err := openQueue(ctx, db)
	if err != nil {
		return err
	}
	done := 0
	for ; ; done++ {
		j, err := q.jobs.Pop(ctx, 0)
		if errors.Is(err, cyberdb.ErrIndex) {
			break // the queue is empty
		}
		if err != nil {
			return fmt.Errorf("pop job: %w", err)
		}
		if err := q.record(ctx, j, result{Worker: worker, Square: j.N * j.N}); err != nil {
			return err
		}
	}
	slog.Info("workerpool: queue empty", "done", done, "leader", db.IsLeader())
	return nil
}

// record stores the result of j unless one is already stored, which
// means the job was handed out twice: it logs that and counts it.
func (q *queue) record(ctx context.Context, j job, r result) error {
	stored, err := q.results.SetIfAbsent(ctx, key(j.ID), r)
	if err != nil || stored {
		return err
	}
	slog.Error("workerpool: DUPLICATE: job was done twice", "job", j.ID)
	_, err = q.stats.Incr(ctx, "duplicates", 1)
	return err
}
