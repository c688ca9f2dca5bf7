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
			// One write is in flight at a time, so the measured round
			// trips cannot add up to more than the time measured.
			if sum := histSum(r.Lat); k.name == "watch-latency" && float64(sum) > float64(r.Elapsed)*(1+1.0/128) {
				t.Errorf("round trips add up to %v, more than the %v measured", sum, r.Elapsed)
			}
		})
	}
}

// histSum adds up h's records, each at its bucket's middle: at most
// 1/128 above the recorded latency.
func histSum(h *hist) time.Duration {
	var sum time.Duration
	for i, c := range h.counts {
		sum += time.Duration(bucketValue(i) * c)
	}
	return sum
}

// socketDir returns a temporary directory removed after the test, with
// a path short enough for the Unix sockets made in it (at most 108
// bytes), which t.TempDir, named after the test, may not be.
func socketDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestRunPrim_Store(t *testing.T) {
	dir := socketDir(t) // the store's leader listens on a socket in it
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
	srv, err := startRedis(bin, socketDir(t), "off")
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
