package main

import (
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func TestPrimConfig_Matrix(t *testing.T) {
	c, err := parseFlags([]string{"-suite", "primitives"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.prim.matrix() {
		got = append(got, r.kind.name+" "+r.callers())
	}
	want := []string{"ttl-set 1", "ttl-set 16", "incr-ttl 1", "incr-ttl 16", "txn 1", "txn 16",
		"queue 1p+4c", "watch-latency 1w+1", "watch-rate 1w+1", "lock 1", "lock 16"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	c, err = parseFlags([]string{"-prim-rows", "lock,queue", "-prim-clients", "2", "-prim-consumers", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.prim.matrix()); n != 2 || c.prim.matrix()[0].callers() != "1p+3c" {
		t.Errorf("matrix %+v", c.prim.matrix())
	}
}

func TestPrimConfig_Invalid(t *testing.T) {
	for _, args := range [][]string{
		{"-prim-rows", "hset"},
		{"-prim-clients", "0"},
		{"-prim-consumers", "0"},
		{"-prim-mode", "eventually"},
		{"-prim-redis-fsync", "sometimes"},
		{"-prim-duration", "0s"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

// testPrimRows runs every row briefly on t and checks that each measured
// something without errors.
func testPrimRows(t *testing.T, pt primTarget) {
	for _, k := range primKinds {
		t.Run(k.name, func(t *testing.T) {
			run := primRun{Kind: k.name, Clients: 3, Keys: 100, TxnKeys: 2, Backlog: 10, Writes: 20,
				StartAt: time.Now().UnixNano(), Warmup: 10 * time.Millisecond, Duration: 100 * time.Millisecond, Seed: 1}
			r, err := runPrim(pt, run)
			if err != nil {
				t.Fatal(err)
			}
			if r.Ops == 0 || r.Errors > 0 || r.Elapsed <= 0 || r.Lat.n != uint64(r.Ops) {
				t.Errorf("%d ops in %v, %d latencies, %d errors (%s)", r.Ops, r.Elapsed, r.Lat.n, r.Errors, r.FirstErr)
			}
			if k.name == "watch-latency" && r.Ops != int64(run.Writes) {
				t.Errorf("%d writes measured, want %d", r.Ops, run.Writes)
			}
		})
	}
}

func TestRunPrim_Store(t *testing.T) {
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	opts := cyberdb.DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	db, err := cyberdb.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	testPrimRows(t, &storePrim{db: db})
}

func TestRunPrim_Redis(t *testing.T) {
	bin := findRedis("redis-server")
	if bin == "" || testing.Short() {
		t.Skip("redis-server not on PATH, or -short")
	}
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := startRedis(bin, dir, "off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.stop() })
	rt, err := dialRedis(srv.sock, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.close() })
	testPrimRows(t, &redisPrim{c: rt.c})
}
