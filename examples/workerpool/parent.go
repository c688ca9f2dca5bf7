package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// runParent fills the queue, runs the workers until every job is done
// and checks the results.
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
	if err := fill(ctx, db, jobs, cfg.workers); err != nil {
		return err
	}
	start := time.Now()
	p, err := startWorkers(dir, cfg.workers, cfg.work)
	if err != nil {
		return err
	}
	werr := errors.Join(p.run(ctx, db, cfg), p.stop())
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

// fill replaces the tables of an earlier run with a full queue, empty
// results and stats, and an empty in-progress list for each of the
// workers (they would create their own, but -kill watches worker 1's).
func fill(ctx context.Context, db *cyberdb.DB, jobs []job, workers int) error {
	tables, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if ours(t.Name) {
			if err := db.DropTable(ctx, t.Name); err != nil {
				return err
			}
		}
	}
	if _, err := db.CreateList(ctx, jobsTable, jobs); err != nil {
		return err
	}
	for id := 1; id <= workers; id++ {
		if _, err := db.CreateList(ctx, inflightPrefix+strconv.Itoa(id)); err != nil {
			return err
		}
	}
	if _, err := db.CreateDict(ctx, resultsTable); err != nil {
		return err
	}
	_, err = db.CreateDict(ctx, statsTable)
	return err
}

// ours reports whether the table name is one of this example's.
func ours(name string) bool {
	switch name {
	case jobsTable, resultsTable, statsTable:
		return true
	}
	return strings.HasPrefix(name, inflightPrefix)
}

// pool is the running worker processes.
type pool struct {
	cmds   []*exec.Cmd // worker i+1 is cmds[i]
	stdin  *os.File    // the write end of the workers' stdin
	killed *exec.Cmd   // the worker killed with -kill, if any
}

// startWorkers starts n copies of this program as workers on the store in
// dir, each job taking work.
func startWorkers(dir string, n int, work time.Duration) (*pool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close() // the workers have their own copies
	p := &pool{stdin: w}
	for id := 1; id <= n; id++ {
		c := exec.Command(exe)
		c.Env = append(os.Environ(), workerEnv+"="+strconv.Itoa(id), dirEnv+"="+dir, workEnv+"="+work.String())
		c.Stdin, c.Stdout, c.Stderr = r, os.Stderr, os.Stderr
		if err := c.Start(); err != nil {
			return nil, errors.Join(fmt.Errorf("start worker %d: %w", id, err), p.stop())
		}
		p.cmds = append(p.cmds, c)
	}
	return p, nil
}

// run recovers the jobs of dead workers until all n jobs are done, or
// the timeout, killing worker 1 meanwhile with -kill.
func (p *pool) run(ctx context.Context, db *cyberdb.DB, cfg config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	killed := make(chan error, 1)
	if cfg.kill {
		go func() { killed <- p.killMidJob(ctx, db) }()
	} else {
		killed <- nil
	}
	err := supervise(ctx, db, cfg.jobs)
	cancel()
	return errors.Join(err, <-killed)
}

// supervise recovers the jobs of dead workers every recoverEvery until n
// jobs are done, or ctx ends.
func supervise(ctx context.Context, db *cyberdb.DB, n int) error {
	stats, err := db.Dict(ctx, statsTable)
	if err != nil {
		return err
	}
	tick := time.NewTicker(recoverEvery)
	defer tick.Stop()
	for {
		if err := recoverDead(ctx, db); err != nil {
			return err
		}
		var done int
		if _, err := stats.Get(ctx, doneKey, &done); err != nil {
			return err
		}
		if done >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs done: %w", done, n, ctx.Err())
		case <-tick.C:
		}
	}
}

// killMidJob kills worker 1 with SIGKILL as soon as it takes a job,
// unless ctx ends first.
func (p *pool) killMidJob(ctx context.Context, db *cyberdb.DB) error {
	for ev, err := range db.Watch(ctx, inflightPrefix+"1", nil) {
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		var j job
		if ev.Op != "move" || ev.Value.Decode(&j) != nil {
			continue
		}
		fmt.Printf("killing worker 1, which holds job %d\n", j.ID)
		p.killed = p.cmds[0]
		return p.killed.Process.Kill()
	}
	return nil
}

// stop closes the workers' stdin, which makes them stop, and waits for
// them; the death of the one killed is no error.
func (p *pool) stop() error {
	p.stdin.Close()
	var errs []error
	for i, c := range p.cmds {
		if err := c.Wait(); err != nil && c != p.killed {
			errs = append(errs, fmt.Errorf("worker %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}
