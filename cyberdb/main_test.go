package cyberdb_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// TestMain lets the test binary act as a child process of the
// multi-process tests.
func TestMain(m *testing.M) {
	if role := os.Getenv(ctest.ChildEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// children are the roles a re-executed test binary can play. Each reads
// its store directory from CDB_DIR and reports on standard output.
var children = map[string]func(ctx context.Context, db *cyberdb.DB) error{
	"hold":      childHold,
	"incr":      childIncr,
	"counter":   childCounter,
	"batchincr": childBatchIncr,
}

// durabilities names the modes for CDB_DURABILITY.
var durabilities = map[string]cyberdb.Durability{
	"Interval": cyberdb.Interval, "Always": cyberdb.Always, "Snapshot": cyberdb.Snapshot, "None": cyberdb.None,
}

func runChild(role string) int {
	f, ok := children[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	opts := testOptions()
	if v := os.Getenv("CDB_BACKUP_INTERVAL"); v != "" {
		d, _ := time.ParseDuration(v)
		opts.BackupInterval = d
	}
	opts.Logger = ctest.Logger()
	if v := os.Getenv("CDB_DURABILITY"); v != "" {
		opts.Durability = durabilities[v]
	}
	db, err := cyberdb.Open(os.Getenv("CDB_DIR"), opts)
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		return 1
	}
	fmt.Printf("open leader=%v pid=%d\n", db.IsLeader(), os.Getpid())
	err = f(context.Background(), db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
		return 1
	}
	return 0
}

// childHold keeps the store open until standard input closes.
func childHold(ctx context.Context, db *cyberdb.DB) error {
	ctest.WaitStdin()
	return nil
}

// childIncr waits for "go" on standard input, increments counter "n" of
// dict "c" CDB_N times, prints "done", then holds the store open until
// standard input closes, so that no process leaves while others count.
func childIncr(ctx context.Context, db *cyberdb.DB) error {
	n, _ := strconv.Atoi(os.Getenv("CDB_N"))
	var line string
	fmt.Scanln(&line)
	d, err := db.Dict(ctx, "c")
	if err != nil {
		return err
	}
	for range n {
		if _, err := d.Incr(ctx, "n", 1); err != nil {
			return err
		}
	}
	fmt.Println("done")
	ctest.WaitStdin()
	return nil
}

// childCounter sets key "n" of dict "c" to 1, 2, 3, ... printing each
// value once acknowledged, until killed or standard input closes.
func childCounter(ctx context.Context, db *cyberdb.DB) error {
	d, err := db.CreateDict(ctx, "c")
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	go func() { ctest.WaitStdin(); close(stop) }()
	pace := time.NewTicker(time.Millisecond)
	defer pace.Stop()
	for i := 1; ; i++ {
		select {
		case <-stop:
			return nil
		case <-pace.C:
		}
		if err := d.Set(ctx, "n", i); err != nil {
			return err
		}
		fmt.Printf("acked %d\n", i)
	}
}
