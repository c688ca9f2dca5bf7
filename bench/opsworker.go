package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// opKind is one operation of the ops suite.
type opKind uint8

const (
	opGet  opKind = iota // dict Get / GET
	opSet                // dict Set / SET
	opIncr               // dict Incr / INCR
	opPush               // list Append / RPUSH
	opPop                // list Pop(-1) / RPOP
)

// opConn is one goroutine's connection to a column of the ops suite; it
// is not safe for concurrent use.
type opConn interface {
	// do performs one operation on key (an index into the key space) in
	// one call.
	do(ctx context.Context, op opKind, key int) error
	// queue adds an operation to the next flush.
	queue(op opKind, key int)
	// flush performs the queued operations in one call.
	flush(ctx context.Context) error
	close() error
}

// opsTarget is what a process runs the ops suite against.
type opsTarget interface {
	// conn opens one goroutine's connection for cell c over keys keys,
	// with a write payload determined by seed.
	conn(c opsCell, keys int, seed uint64) (opConn, error)
}

// loader is an opsTarget that holds its own data and can preload it.
type loader interface {
	load(p preloadMsg) error
	drop(table string) error
}

// opsRun asks a process to run one cell: Workers goroutines, each with
// its own connection, calling from StartAt, measured after Warmup for
// Duration.
type opsRun struct {
	Cell     opsCell       `json:"cell"`
	Keys     int           `json:"keys"`
	Zipf     float64       `json:"zipf"`
	Workers  int           `json:"workers"`
	StartAt  int64         `json:"start_at"` // wall clock, Unix ns, shared by all processes
	Warmup   time.Duration `json:"warmup"`
	Duration time.Duration `json:"duration"`
	Seed     uint64        `json:"seed"`
}

// dropMsg asks a process to drop a preloaded table.
type dropMsg struct {
	Table string `json:"table"`
}

// serveCommand runs the commands every ops process understands: ops,
// preload, drop and memstats, and the primitives suite's prim.
func serveCommand(l *link, t any, cmd envelope) error {
	switch cmd.Kind {
	case "ops":
		return serveOps(l, t, cmd)
	case "preload", "drop":
		return serveLoad(l, t, cmd)
	case "prim":
		return servePrim(l, t, cmd)
	case "memstats":
		m, err := readMem()
		if err != nil {
			return err
		}
		l.reply("memstats", m)
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd.Kind)
}

// serveOps runs an "ops" command on t.
func serveOps(l *link, t any, cmd envelope) error {
	ot, ok := t.(opsTarget)
	if !ok {
		return fmt.Errorf("this process cannot run ops cells (%T)", t)
	}
	var run opsRun
	if err := decodeData(cmd, &run); err != nil {
		return err
	}
	r, err := runOpsCell(ot, run)
	if err != nil {
		return err
	}
	l.reply("result", r)
	return nil
}

// serveLoad runs a "preload" or "drop" command on t.
func serveLoad(l *link, t any, cmd envelope) error {
	ld, ok := t.(loader)
	if !ok {
		return fmt.Errorf("this process holds no data to %s (%T)", cmd.Kind, t)
	}
	if cmd.Kind == "drop" {
		var m dropMsg
		if err := decodeData(cmd, &m); err != nil {
			return err
		}
		if err := ld.drop(m.Table); err != nil {
			return err
		}
		l.reply("dropped", nil)
		return nil
	}
	var p preloadMsg
	if err := decodeData(cmd, &p); err != nil {
		return err
	}
	start := time.Now()
	if err := ld.load(p); err != nil {
		return err
	}
	l.reply("preloaded", preloadedMsg{Elapsed: time.Since(start)})
	return nil
}

// runOpsCell runs one cell on t and measures it, including the
// allocations this process makes while measuring.
func runOpsCell(t opsTarget, run opsRun) (result, error) {
	conns, err := openConns(t, run)
	defer closeConns(conns)
	if err != nil {
		return result{}, err
	}
	from, end := window(run.StartAt, run.Warmup, run.Duration)
	ctx, cancel := context.WithDeadline(context.Background(), end.Add(30*time.Second))
	defer cancel()
	mallocs := countMallocs(from, end)
	parts := make([]result, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		g := newOpGen(run, uint64(i))
		wg.Go(func() { parts[i] = callLoop(ctx, c, g, run.Cell.Batch, from, end) })
	}
	wg.Wait()
	total := mergeAll(parts)
	total.Mallocs = <-mallocs
	total.Elapsed = max(end.Sub(from), 0)
	return total, nil
}

// openConns opens one connection per worker.
func openConns(t opsTarget, run opsRun) ([]opConn, error) {
	var conns []opConn
	for i := range run.Workers {
		c, err := t.conn(run.Cell, run.Keys, run.Seed+uint64(i))
		if err != nil {
			return conns, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// closeConns closes connections.
func closeConns(conns []opConn) {
	for _, c := range conns {
		c.close()
	}
}

// countMallocs returns a channel that receives the number of heap
// allocations this process makes between from and end.
func countMallocs(from, end time.Time) <-chan uint64 {
	ch := make(chan uint64, 1)
	go func() {
		var m runtime.MemStats
		time.Sleep(time.Until(from))
		runtime.ReadMemStats(&m)
		before := m.Mallocs
		time.Sleep(time.Until(end))
		runtime.ReadMemStats(&m)
		ch <- m.Mallocs - before
	}()
	return ch
}

// callLoop makes calls of batch operations until end, recording those
// that start at or after from.
func callLoop(ctx context.Context, c opConn, g *opGen, batch int, from, end time.Time) result {
	res := result{Lat: newHist()}
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			return res
		}
		err := call(ctx, c, g, batch)
		if t0.Before(from) {
			continue
		}
		if err != nil {
			res.Errors++
			if res.FirstErr == "" {
				res.FirstErr = err.Error()
			}
			continue
		}
		res.Calls++
		res.Ops += int64(batch)
		res.Lat.add(time.Since(t0))
	}
}

// call makes one call: a single operation, or a batch of them.
func call(ctx context.Context, c opConn, g *opGen, batch int) error {
	if batch <= 1 {
		op, key := g.next()
		return c.do(ctx, op, key)
	}
	for range batch {
		c.queue(g.next())
	}
	return c.flush(ctx)
}

// opGen chooses the operations of one goroutine.
type opGen struct {
	workload string
	r        *rand.Rand
	zipf     *rand.Zipf // nil: uniform keys
	keys     int
	pushed   bool // list: the last operation pushed, so the next one pops
}

// newOpGen returns the generator of worker's operations in run.
func newOpGen(run opsRun, worker uint64) *opGen {
	r := rand.New(rand.NewPCG(run.Seed, worker))
	g := &opGen{workload: run.Cell.Workload, r: r, keys: max(run.Keys, 1)}
	if run.Zipf > 1 && g.keys > 1 {
		g.zipf = rand.NewZipf(r, run.Zipf, 1, uint64(g.keys-1))
	}
	return g
}

// next returns the next operation and its key.
func (g *opGen) next() (opKind, int) {
	switch g.workload {
	case "set":
		return opSet, g.key()
	case "incr":
		return opIncr, g.key()
	case "list":
		g.pushed = !g.pushed
		if !g.pushed {
			return opPop, 0
		}
		return opPush, 0
	case "mix":
		if g.r.IntN(10) == 0 {
			return opSet, g.key()
		}
	}
	return opGet, g.key()
}

// key returns a key index, uniform or zipf-distributed.
func (g *opGen) key() int {
	if g.zipf != nil {
		return int(g.zipf.Uint64())
	}
	return g.r.IntN(g.keys)
}
