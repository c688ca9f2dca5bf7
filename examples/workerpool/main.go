// Workerpool shares a reliable queue of jobs between worker processes
// through cyberdb: a worker that dies mid-job loses no job, and no job is
// done twice.
//
// The parent opens a store, which makes it the leader, fills the list
// "jobs" with -jobs jobs and starts -workers copies of itself. Worker <id>
//
//   - holds the lock "worker/<id>" while it lives, refreshing its lease;
//     the lock is released at once when its process exits or dies;
//   - takes one job at a time with MoveWait, which moves it atomically
//     from the front of "jobs" to the worker's in-progress list
//     "inflight/<id>", waiting while the queue is empty;
//   - finishes it in one transaction that stores the result in the dict
//     "results", counts it in the dict "stats" and pops it from
//     "inflight/<id>". So every job is, at any moment, exactly one of
//     queued, in progress or done.
//
// A worker whose lock can be taken is dead. Every 50ms the parent (any
// process could do it) tries the lock of each in-progress list's worker
// with TryLock; when it gets one, it moves that list's jobs back to the
// front of the queue, then releases the lock. A worker that was only
// presumed dead (paused past its lease) cannot then finish the job taken
// from it: its transaction finds its list empty and applies nothing.
//
// With -kill, the parent kills worker 1 with SIGKILL as soon as it takes
// a job, and prints the job it recovers:
//
//	go run ./examples/workerpool -kill
//
// Once every job is done, the parent stops the workers by closing their
// stdin (which also stops them if the parent dies) and checks that every
// job has exactly one correct result. It exits with status 1 if a job was
// lost, done twice or done wrong.
package main

import (
	"flag"
	"log/slog"
	"os"
	"strconv"
	"time"
)

// Environment of the worker processes.
const (
	workerEnv = "WORKERPOOL_WORKER" // the worker's number; set in workers only
	dirEnv    = "WORKERPOOL_DIR"    // the store directory
	workEnv   = "WORKERPOOL_WORK"   // how long a job takes
)

// Names in the store; the worker's number follows a prefix.
const (
	jobsTable      = "jobs"      // list of job, the queue
	inflightPrefix = "inflight/" // list of the job a worker is doing
	lockPrefix     = "worker/"   // lock a worker holds while it lives
	resultsTable   = "results"   // dict of result, keyed by job ID
	statsTable     = "stats"     // dict with the count of jobs done
	doneKey        = "done"      // that count, in statsTable
)

// Liveness of the workers. A worker that dies loses its lock at once: the
// lease only ends the lock of a worker that hangs, so it can be long.
const (
	lease        = 10 * time.Second      // of a worker's lock
	refreshEvery = time.Second           // how often a worker renews its lease
	recoverEvery = 50 * time.Millisecond // how often the parent looks for dead workers
)

// job is one unit of work: square N.
type job struct {
	ID int
	N  int
}

// result is a job's outcome and the worker that computed it.
type result struct {
	Worker int
	Square int
}

// key returns the key of job id in the results table.
func key(id int) string { return strconv.Itoa(id) }

// config holds the command-line flags of the parent.
type config struct {
	jobs    int
	workers int
	work    time.Duration
	kill    bool
	timeout time.Duration
	dir     string
}

func main() {
	var err error
	if id := os.Getenv(workerEnv); id != "" {
		setupLog("worker " + id)
		err = runWorker(id, os.Getenv(dirEnv), os.Getenv(workEnv))
	} else {
		setupLog("parent")
		err = runParent(parseFlags())
	}
	if err != nil {
		slog.Error("workerpool: failed", "err", err)
		os.Exit(1)
	}
}

func parseFlags() config {
	var cfg config
	flag.IntVar(&cfg.jobs, "jobs", 1000, "number of jobs")
	flag.IntVar(&cfg.workers, "workers", 4, "number of worker processes")
	flag.DurationVar(&cfg.work, "work", time.Millisecond, "how long each job takes")
	flag.BoolVar(&cfg.kill, "kill", false, "kill worker 1 with SIGKILL as soon as it takes a job")
	flag.DurationVar(&cfg.timeout, "timeout", time.Minute, "give up if the jobs are not all done by then")
	flag.StringVar(&cfg.dir, "dir", "", "store directory (default: a fresh temporary directory, removed at exit)")
	flag.Parse()
	bad := cfg.jobs < 0 || cfg.workers < 1 || cfg.work < 0 || cfg.timeout <= 0 || flag.NArg() > 0
	if bad || cfg.kill && cfg.workers < 2 { // someone must do the killed worker's job
		flag.Usage()
		os.Exit(2)
	}
	return cfg
}

// storeLog is the logger given to cyberdb, which adds the pid itself.
var storeLog *slog.Logger

// setupLog makes slog write text records to stderr, tagged with the role
// of this process and its pid.
func setupLog(role string) {
	storeLog = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("role", role)
	slog.SetDefault(storeLog.With("pid", os.Getpid()))
}
