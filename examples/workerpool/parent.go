package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// runParent fills the queue, runs the workers and checks their results.
func runParent(cfg config) error {
	dir, cleanup, err := storeDir(cfg.dir)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := cyberdb.Open(dir, &cyberdb.Options{Logger: storeLog})
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	jobs := makeJobs(cfg.jobs)
	if err := fill(ctx, db, jobs); err != nil {
		return err
	}
	start := time.Now()
	werr := runWorkers(dir, cfg.workers)
	elapsed := time.Since(start)
	rep, err := check(ctx, db, jobs)
	if err != nil {
		return errors.Join(werr, err)
	}
	rep.print(os.Stdout, cfg.workers, elapsed)
	if !rep.ok() {
		return errors.Join(werr, errFailed)
	}
	return werr
}

// storeDir returns dir, or if it is empty a new temporary directory and a
// function that removes it.
func storeDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "cyberdb-workerpool")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// makeJobs returns n jobs with distinct IDs.
func makeJobs(n int) []job {
	jobs := make([]job, n)
	for i := range jobs {
		jobs[i] = job{ID: i, N: i + 1}
	}
	return jobs
}

// fill replaces the tables of an earlier run with a full queue, an empty
// results dict and empty stats.
func fill(ctx context.Context, db *cyberdb.DB, jobs []job) error {
	for _, name := range []string{jobsTable, resultsTable, statsTable} {
		if err := db.DropTable(ctx, name); err != nil && !errors.Is(err, cyberdb.ErrNoTable) {
			return err
		}
	}
	if _, err := db.CreateList(ctx, jobsTable, jobs); err != nil {
		return err
	}
	if _, err := db.CreateDict(ctx, resultsTable); err != nil {
		return err
	}
	_, err := db.CreateDict(ctx, statsTable)
	return err
}

// runWorkers starts n copies of this program as workers on the store in
// dir and waits for all of them.
func runWorkers(dir string, n int) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = exec.Command(exe)
		cmds[i].Env = append(os.Environ(), workerEnv+"="+strconv.Itoa(i+1), dirEnv+"="+dir)
		cmds[i].Stdout, cmds[i].Stderr = os.Stderr, os.Stderr
		if err := cmds[i].Start(); err != nil {
			return errors.Join(fmt.Errorf("start worker %d: %w", i+1, err), waitAll(cmds[:i]))
		}
	}
	return waitAll(cmds)
}

// waitAll waits for every started command and joins their failures.
func waitAll(cmds []*exec.Cmd) error {
	var errs []error
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("worker %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}
