// Workerpool shares a queue of jobs between worker processes through
// cyberdb.
//
// The parent opens a store, which makes it the leader, fills the list
// "jobs" with -jobs jobs and starts -workers copies of itself. Each worker
// attaches to the store, pops jobs from the front of the list until it is
// empty, and records each result in the dict "results" with SetIfAbsent,
// so a job done twice cannot go unnoticed. The parent then checks that
// every job has exactly one correct result:
//
//	go run ./examples/workerpool -jobs 1000 -workers 4
//
// It exits with status 1 if a job was lost, done twice or done wrong.
package main

import (
	"flag"
	"log/slog"
	"os"
	"strconv"
)

// Environment of the worker processes.
const (
	workerEnv = "WORKERPOOL_WORKER" // the worker's number; set in workers only
	dirEnv    = "WORKERPOOL_DIR"    // the store directory
)

// Table names.
const (
	jobsTable    = "jobs"    // list of job, the queue
	resultsTable = "results" // dict of result, keyed by job ID
	statsTable   = "stats"   // dict with the count of "duplicates"
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
	dir     string
}

func main() {
	var err error
	if id := os.Getenv(workerEnv); id != "" {
		setupLog("worker " + id)
		err = runWorker(id, os.Getenv(dirEnv))
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
	flag.StringVar(&cfg.dir, "dir", "", "store directory (default: a fresh temporary directory, removed at exit)")
	flag.Parse()
	if cfg.jobs < 0 || cfg.workers < 1 || flag.NArg() > 0 {
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
