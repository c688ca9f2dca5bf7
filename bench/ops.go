package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// opsGap is how far ahead of now the driver schedules the start of an
// ops cell, so that every calling process begins at the same moment.
const opsGap = 50 * time.Millisecond

// opsColumn is one column of the ops suite as the driver sees it.
type opsColumn struct {
	name    string
	callers []*child // processes making the calls
	single  bool     // every goroutine of a cell runs in callers[0]
	loader  *child   // process holding the column's data; nil for none
	err     error    // why the column cannot run; its cells fail with it
}

// opsResults holds the measured cells by configuration and column.
type opsResults map[opsCell]map[string]*cell

// at returns the results of c on column col, creating them.
func (r opsResults) at(c opsCell, col string) *cell {
	if r[c] == nil {
		r[c] = map[string]*cell{}
	}
	if r[c][col] == nil {
		r[c][col] = &cell{target: col, writers: c.Procs * c.Goroutines}
	}
	return r[c][col]
}

// runOps measures every cell of the matrix on every column, interleaved,
// one value size (and so one preloaded key space) at a time.
func runOps(b *bench) error {
	cells := b.cfg.ops.matrix()
	b.opsHeader(cells)
	cols, stop := b.opsColumns(cells)
	defer stop()
	res := opsResults{}
	for _, group := range bySize(cells) {
		b.opsGroup(cols, group, res)
	}
	b.opsTables(cells, cols, res)
	for _, col := range cols {
		if col.err != nil {
			return fmt.Errorf("%s: %w", col.name, col.err)
		}
	}
	return nil
}

// opsHeader prints what the suite measures.
func (b *bench) opsHeader(cells []opsCell) {
	o := &b.cfg.ops
	dist := "uniform"
	if o.zipf > 1 {
		dist = fmt.Sprintf("zipf s=%g", o.zipf)
	}
	fmt.Fprintf(b.out, "\n## ops: %d cells on %d keys (%s, preloaded); store Durability %s, Redis appendfsync %s; %v per cell after %v warm-up, median of %d\n",
		len(cells), b.cfg.keys, dist, o.mode, o.redisFsync, o.duration, o.warmup, b.cfg.count)
	fmt.Fprintln(b.out, "latency is per call; allocs/op are the heap allocations of the calling processes per operation")
}

// opsColumns starts the processes of every selected column and returns
// the columns and the function that stops them.
func (b *bench) opsColumns(cells []opsCell) ([]*opsColumn, func()) {
	want := func(name string) bool { return slices.Contains(b.cfg.ops.columns, name) }
	procs, pool := 1, 1
	for _, c := range cells {
		procs, pool = max(procs, c.Procs), max(pool, c.Goroutines)
	}
	var cols []*opsColumn
	var stops []func()
	add := func(cs []*opsColumn, stop func()) {
		cols, stops = append(cols, cs...), append(stops, stop)
	}
	if want(colClient) || want(colLocal) {
		add(b.opsStore("ops", b.cfg.ops.mode, procs, want(colClient), want(colLocal)))
	}
	if want(colRedis) {
		if b.redis == "" {
			fmt.Fprintf(b.out, "redis column skipped: %q not found on PATH (install redis-server or pass -redis-server PATH)\n", b.cfg.redisServer)
		} else {
			add(b.opsRedis("ops", b.cfg.ops.redisFsync, procs, pool))
		}
	}
	if want(colEcho) {
		add(b.opsEcho(procs))
	}
	if want(colMap) {
		add(b.opsMap())
	}
	return cols, func() {
		for _, stop := range stops {
			stop()
		}
	}
}

// opsStore starts a store's leader in Durability mode and, for the
// store-client column, procs client processes. suite ("ops", "prim")
// prefixes the directory and the profiles.
func (b *bench) opsStore(suite, mode string, procs int, client, local bool) ([]*opsColumn, func()) {
	fail := func(err error) ([]*opsColumn, func()) {
		return []*opsColumn{{name: colClient, err: err}, {name: colLocal, err: err}}, func() {}
	}
	dir, err := b.dir(suite + "-")
	if err != nil {
		return fail(err)
	}
	sm := storeMsg{Dir: dir, Mode: mode, Profile: b.profile(suite + "-leader")}
	leader, err := b.startLeader(sm)
	if err != nil {
		return fail(err)
	}
	var cols []*opsColumn
	var clients []*child
	if client {
		sm.Profile = b.profile(suite + "-client")
		clients, err = b.startN(procs, clientMsg{Target: "store", Store: sm})
		cols = append(cols, &opsColumn{name: colClient, callers: clients, loader: leader, err: err})
	}
	if local {
		cols = append(cols, &opsColumn{name: colLocal, callers: []*child{leader}, single: true, loader: leader})
	}
	return cols, func() {
		stopAll(clients)
		if err := leader.stop(time.Minute); err != nil {
			fmt.Fprintf(os.Stderr, "%s: stopping the leader: %v\n", suite, err)
		}
	}
}

// opsRedis starts a Redis server with appendfsync fsync and procs client
// processes with pool connections each. suite ("ops", "prim") prefixes
// the directory and the profile.
func (b *bench) opsRedis(suite, fsync string, procs, pool int) ([]*opsColumn, func()) {
	col := &opsColumn{name: colRedis}
	dir, err := b.dir(suite + "-redis-")
	if err != nil {
		col.err = err
		return []*opsColumn{col}, func() {}
	}
	srv, err := startRedis(b.redis, dir, fsync)
	if err != nil {
		col.err = err
		return []*opsColumn{col}, func() {}
	}
	b.track(srv)
	cm := clientMsg{Target: "redis", Redis: srv.sock, Pool: pool, Store: storeMsg{Profile: b.profile(suite + "-redis-client")}}
	col.callers, col.err = b.startN(procs, cm)
	if col.err == nil {
		col.loader = col.callers[0]
	}
	return []*opsColumn{col}, func() {
		stopAll(col.callers)
		srv.stop()
	}
}

// opsEcho starts the echo server process and procs client processes.
func (b *bench) opsEcho(procs int) ([]*opsColumn, func()) {
	col := &opsColumn{name: colEcho}
	dir, err := b.dir("echo-")
	if err != nil {
		col.err = err
		return []*opsColumn{col}, func() {}
	}
	sock := filepath.Join(dir, "sock")
	srv, err := b.spawn("echo")
	if err == nil {
		if err = srv.call("open", echoMsg{Sock: sock}, time.Minute, "ready", nil); err != nil {
			srv.kill()
		}
	}
	if err != nil {
		col.err = err
		return []*opsColumn{col}, func() {}
	}
	col.callers, col.err = b.startN(procs, clientMsg{Target: "echo", Echo: sock, Store: storeMsg{Profile: b.profile("ops-echo-client")}})
	return []*opsColumn{col}, func() {
		stopAll(col.callers)
		srv.stop(30 * time.Second)
	}
}

// opsMap starts the process holding the rwmutex-map.
func (b *bench) opsMap() ([]*opsColumn, func()) {
	col := &opsColumn{name: colMap, single: true}
	col.callers, col.err = b.startN(1, clientMsg{Target: "rwmap", Store: storeMsg{Profile: b.profile("ops-rwmap")}})
	if col.err == nil {
		col.loader = col.callers[0]
	}
	return []*opsColumn{col}, func() { stopAll(col.callers) }
}

// opsGroup preloads the key space of one value size, runs the group's
// cells -count times on every column, interleaved, and drops the keys.
func (b *bench) opsGroup(cols []*opsColumn, group []opsCell, res opsResults) {
	size := group[0].ValueSize
	table := kvTable(size)
	b.forLoaders(cols, "preload", table, preloadMsg{Table: table, Keys: b.cfg.keys, ValueSize: size, Chunk: 1000}, "preloaded")
	for range b.cfg.count {
		for _, c := range group {
			for _, col := range cols {
				b.opsOne(col, c, res.at(c, col.name))
			}
		}
	}
	b.forLoaders(cols, "drop", table, dropMsg{Table: table}, "dropped")
}

// forLoaders sends a command to each process holding a column's data,
// once per process and to all at once, and fails the columns of a
// process that fails it.
func (b *bench) forLoaders(cols []*opsColumn, kind, table string, msg any, reply string) {
	errs := map[*child]error{}
	start := time.Now()
	for _, col := range cols {
		if _, sent := errs[col.loader]; col.err == nil && col.loader != nil && !sent {
			errs[col.loader] = col.loader.send(kind, msg)
		}
	}
	for p, err := range errs {
		if err == nil {
			errs[p] = p.recv(10*time.Minute, reply, nil)
		}
	}
	for _, col := range cols {
		if err, ok := errs[col.loader]; ok && col.err == nil {
			col.err = err
		}
	}
	fmt.Fprintf(os.Stderr, "  %s %s: %s\n", kind, table, fmtDur(time.Since(start)))
}

// opsOne runs one repetition of a cell on a column unless the column has
// failed.
func (b *bench) opsOne(col *opsColumn, c opsCell, cl *cell) {
	if col.err != nil {
		cl.err = col.err
		return
	}
	r, err := b.opsCall(col, c)
	if err != nil {
		col.err, cl.err = err, err
		fmt.Fprintf(os.Stderr, "  %-5s %-22s %-12s failed: %v\n", c.Workload, c.label(), col.name, err)
		return
	}
	cl.reps = append(cl.reps, r)
	b.gob.opsRep(c, col.name, r)
	fmt.Fprintf(os.Stderr, "  %-5s %-22s %-12s %9s ops/s  p50 %-7s p99 %-7s %5.1f allocs/op\n", c.Workload, c.label(), col.name,
		fmtRate(r.opsPerSec()), fmtDur(r.Lat.quantile(0.5)), fmtDur(r.Lat.quantile(0.99)), allocsPerOp(r))
}

// opsCall runs a cell once on a column's processes, all starting at the
// same moment, and merges their results.
func (b *bench) opsCall(col *opsColumn, c opsCell) (result, error) {
	o := &b.cfg.ops
	run := opsRun{Cell: c, Keys: b.cfg.keys, Zipf: o.zipf, Workers: c.Goroutines,
		Warmup: o.warmup, Duration: o.duration, StartAt: time.Now().Add(opsGap).UnixNano()}
	callers := col.callers[:min(c.Procs, len(col.callers))]
	if col.single {
		run.Workers, callers = c.Procs*c.Goroutines, col.callers[:1]
	}
	for i, p := range callers {
		run.Seed = uint64(i+1) << 20
		if err := p.send("ops", run); err != nil {
			return result{}, err
		}
	}
	total := result{Lat: newHist()}
	for _, p := range callers {
		var r result
		if err := p.recv(o.warmup+o.duration+opsGap+time.Minute, "result", &r); err != nil {
			return result{}, err
		}
		total.merge(r)
	}
	return total, nil
}

// allocsPerOp returns the heap allocations per operation of r.
func allocsPerOp(r result) float64 {
	if r.Ops == 0 {
		return 0
	}
	return float64(r.Mallocs) / float64(r.Ops)
}
