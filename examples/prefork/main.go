// Prefork serves one HTTP address from several worker processes that
// share their state through cyberdb, the way the CyberDB tutorial shared
// it between Gunicorn workers.
//
// The parent process re-executes itself as -workers worker processes.
// Each worker opens the store in -dir (the first to open it becomes the
// leader that holds the tables, the others attach to it), seeds it if it
// is new, and listens on -addr with SO_REUSEPORT, so the kernel spreads
// incoming connections over the workers:
//
//	go run ./examples/prefork -workers 4 -addr 127.0.0.1:8000
//	curl http://127.0.0.1:8000/             # {"code":1,"content":"Hello CyberDB!"}
//	curl http://127.0.0.1:8000/hits         # {"code":1,"hits":1}, counted by all workers
//	curl 'http://127.0.0.1:8000/hits?peek=1' # reads the counter without counting
//
// The store lives in -dir, by default cyberdb-prefork in the system's
// temporary directory. SIGINT (Ctrl-C) or SIGTERM stops the server
// gracefully: every worker finishes its requests and closes the store,
// the leader writing a final snapshot, so the counter survives a restart.
// A worker that dies is restarted; if it was the leader, another worker
// takes over from the last snapshot (taken every 5 minutes by default),
// so the writes since then are lost.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// workerEnv is set, to the worker's slot number, in worker processes only.
const workerEnv = "PREFORK_WORKER"

// config holds the command-line flags, which workers parse as the parent did.
type config struct {
	addr    string
	dir     string
	workers int
}

func main() {
	cfg := parseFlags()
	var err error
	if slot := os.Getenv(workerEnv); slot != "" {
		setupLog("worker", slot)
		err = runWorker(cfg)
	} else {
		setupLog("parent", "")
		err = runParent(cfg)
	}
	if err != nil {
		slog.Error("prefork: exiting", "err", err)
		os.Exit(1)
	}
}

func parseFlags() config {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8000", "HTTP address every worker listens on")
	flag.StringVar(&cfg.dir, "dir", filepath.Join(os.TempDir(), "cyberdb-prefork"), "store directory shared by the workers")
	flag.IntVar(&cfg.workers, "workers", 4, "number of worker processes")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags]\n\nServes -addr from -workers processes sharing the cyberdb store in -dir.\n\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if cfg.workers < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	return cfg
}

// storeLog is the logger given to cyberdb, which adds the pid itself.
var storeLog *slog.Logger

// setupLog makes slog write text records to stderr, tagged with the role
// of this process and its pid.
func setupLog(role, slot string) {
	storeLog = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("role", role)
	if slot != "" {
		storeLog = storeLog.With("worker", slot)
	}
	slog.SetDefault(storeLog.With("pid", os.Getpid()))
}
