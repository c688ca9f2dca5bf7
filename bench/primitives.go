package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// primKind is one primitive the primitives suite compares with Redis.
type primKind struct {
	name   string
	store  string // what the store side calls
	redis  string // what the Redis side sends
	scaled bool   // measured at each -prim-clients count; else with its own fixed callers
}

// primKinds lists the primitives suite's rows in table order.
var primKinds = []primKind{
	{"ttl-set", "Dict.SetTTL(k, 16 B, 10m)", "SET k v EX 600", true},
	{"incr-ttl", "Dict.IncrWithTTL(k, 1, 10m)", "MULTI, INCR k, EXPIRE k 600 NX, EXEC (one round trip)", true},
	{"txn", "GetVersion(a), then Txn CheckVersion(a) + Set(a) + Set(b), again on ErrConflict",
		"WATCH a + GET a (one round trip), then MULTI, SET a, SET b, EXEC (one), again when EXEC aborts", true},
	{"queue", "1 producer List.Append, consumers MoveWait(Front to the Back of their in-flight lists)",
		"1 producer LPUSH, consumers BLMOVE queue inflight RIGHT LEFT (100 ms timeout)", false},
	{"watch-latency", "Dict.Set, then wait for its event from db.Watch of the table (one write in flight)",
		"SET, then wait for its message from PSUBSCRIBE __keyspace@0__:watch:* (notify-keyspace-events K$)", false},
	{"watch-rate", "Dict.Set back to back from 1 writer, db.Watch counting", "SET back to back from 1 writer, PSUBSCRIBE counting", false},
	{"lock", "TryLock(name, 30s) + Unlock (one name per client; fencing token)", "SET name v NX EX 30 + DEL (no fencing token; DEL does not check the holder)", true},
}

// primConfig holds the primitives suite's flags.
type primConfig struct {
	rows        []string
	clients     []int // callers of the scaled rows
	consumers   int
	backlog     int
	txnKeys     int
	watchWrites int
	mode        string // the store's Durability mode
	redisFsync  string // Redis appendfsync policy, or off
	warmup      time.Duration
	duration    time.Duration
}

// flags registers the primitives suite's flags and returns the function
// that parses its lists after fs.Parse.
func (p *primConfig) flags(fs *flag.FlagSet) func() error {
	rows := fs.String("prim-rows", strings.Join(primNames(), ","), "primitives suite: rows to measure")
	clients := fs.String("prim-clients", "1,16", "primitives suite: concurrent callers (goroutines of one client process) of the ttl-set, incr-ttl, txn and lock rows")
	fs.IntVar(&p.consumers, "prim-consumers", 4, "primitives suite: consumer goroutines of the queue row (one producer)")
	fs.IntVar(&p.backlog, "prim-backlog", 1000, "primitives suite: queue row: the producer waits while this many items are queued")
	fs.IntVar(&p.txnKeys, "prim-txn-keys", 100, "primitives suite: keys the txn row checks (fewer: more conflicts)")
	fs.IntVar(&p.watchWrites, "prim-watch-writes", 2000, "primitives suite: measured writes of the watch-latency row")
	fs.StringVar(&p.mode, "prim-mode", "interval", "primitives suite: Durability mode of the store")
	fs.StringVar(&p.redisFsync, "prim-redis-fsync", "everysec", "primitives suite: Redis appendfsync policy, or off for no AOF")
	fs.DurationVar(&p.warmup, "prim-warmup", 200*time.Millisecond, "primitives suite: unmeasured warm-up per cell")
	fs.DurationVar(&p.duration, "prim-duration", time.Second, "primitives suite: measured time per cell (not watch-latency: -prim-watch-writes)")
	return func() (err error) {
		if p.rows, err = parseNames(*rows, "prim-rows", primNames()); err != nil {
			return err
		}
		p.clients, err = parseInts(*clients, "prim-clients")
		return err
	}
}

// validate checks the values parsing could not.
func (p *primConfig) validate() error {
	switch {
	case p.consumers < 1 || p.backlog < 1 || p.txnKeys < 1 || p.watchWrites < 1:
		return fmt.Errorf("bench: -prim-consumers, -prim-backlog, -prim-txn-keys and -prim-watch-writes must be at least 1")
	case p.duration <= 0 || p.warmup < 0:
		return fmt.Errorf("bench: -prim-duration must be positive and -prim-warmup not negative")
	case !slices.Contains([]string{"always", "everysec", "no", "off"}, p.redisFsync):
		return fmt.Errorf("bench: -prim-redis-fsync %q: want always, everysec, no or off", p.redisFsync)
	}
	_, err := storeOptions(p.mode)
	return err
}

// primNames lists the rows' names.
func primNames() []string {
	var names []string
	for _, k := range primKinds {
		names = append(names, k.name)
	}
	return names
}

// primRow is one row of the suite's table: a primitive at a number of
// callers.
type primRow struct {
	kind    primKind
	clients int // callers; consumers of the queue row; 1 for the watch rows
}

// callers names the row's callers: 16, or 1p+4c for the queue.
func (r primRow) callers() string {
	switch {
	case r.kind.name == "queue":
		return fmt.Sprintf("1p+%dc", r.clients)
	case !r.kind.scaled:
		return "1w+1"
	}
	return fmt.Sprint(r.clients)
}

// matrix returns the rows to measure.
func (p *primConfig) matrix() []primRow {
	var rows []primRow
	for _, k := range primKinds {
		switch {
		case !slices.Contains(p.rows, k.name):
		case k.scaled:
			for _, n := range p.clients {
				rows = append(rows, primRow{k, n})
			}
		case k.name == "queue":
			rows = append(rows, primRow{k, p.consumers})
		default:
			rows = append(rows, primRow{k, 1})
		}
	}
	return rows
}

// run returns the command that measures row once.
func (p *primConfig) run(row primRow, keys int, seed uint64) primRun {
	return primRun{Kind: row.kind.name, Clients: row.clients, Keys: keys, TxnKeys: p.txnKeys, Backlog: p.backlog,
		Writes: p.watchWrites, StartAt: time.Now().Add(opsGap).UnixNano(), Warmup: p.warmup, Duration: p.duration, Seed: seed}
}

// Columns of the primitives suite.
const (
	primStore = "cyberdb"
	primRedis = "redis"
)

// primColumn is one side of the suite: a client process and what it
// calls.
type primColumn struct {
	name   string
	client *child
	stop   func()
	err    error // why the column cannot run; its cells fail with it
}

// runPrimitives measures each row on the store and on Redis, interleaved,
// -count times.
func runPrimitives(b *bench) error {
	p := &b.cfg.prim
	rows := p.matrix()
	fmt.Fprintf(b.out, "\n## primitives: %d rows; the store's leader in its own process (Durability %s), the callers in one client process; Redis appendfsync %s, go-redis in one client process; %v per cell after %v warm-up, median of %d\n",
		len(rows), p.mode, p.redisFsync, p.duration, p.warmup, b.cfg.count)
	cols := []*primColumn{b.primStoreColumn()}
	if b.redis == "" {
		fmt.Fprintf(b.out, "Redis rows skipped: %q not found on PATH (install redis-server or pass -redis-server PATH)\n", b.cfg.redisServer)
	} else {
		cols = append(cols, b.primRedisColumn())
	}
	defer func() {
		for _, col := range cols {
			col.stop()
		}
	}()
	cells := map[primRow]map[string]*cell{}
	for _, row := range rows {
		cells[row] = map[string]*cell{}
		for _, col := range cols {
			cells[row][col.name] = &cell{target: col.name}
		}
	}
	for rep := range b.cfg.count {
		for i, row := range rows {
			for _, col := range cols {
				b.primOne(col, row, uint64(rep*len(rows)+i+1), cells[row][col.name])
			}
		}
	}
	b.primTable(rows, cells)
	var err error
	for _, col := range cols {
		if col.err != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w", col.name, col.err))
		}
	}
	return err
}

// primStoreColumn starts a store's leader and one client process.
func (b *bench) primStoreColumn() *primColumn {
	cols, stop := b.opsStore("prim", b.cfg.prim.mode, 1, true, false)
	return primColumnOf(primStore, cols[0], stop)
}

// primRedisColumn starts a Redis server and one client process with a
// connection for every caller.
func (b *bench) primRedisColumn() *primColumn {
	p := &b.cfg.prim
	pool := max(slices.Max(p.clients), p.consumers+1) + 2
	cols, stop := b.opsRedis("prim", p.redisFsync, 1, pool)
	return primColumnOf(primRedis, cols[0], stop)
}

// primColumnOf returns the column name of the primitives suite on the
// one client process of col.
func primColumnOf(name string, col *opsColumn, stop func()) *primColumn {
	pc := &primColumn{name: name, stop: stop, err: col.err}
	if pc.err == nil {
		pc.client = col.callers[0]
	}
	return pc
}

// primOne measures a row once on a column unless the column has failed.
// A row that fails in the client fails its cell only.
func (b *bench) primOne(col *primColumn, row primRow, seed uint64, c *cell) {
	if col.err != nil {
		c.err = col.err
		return
	}
	run := b.cfg.prim.run(row, b.cfg.keys, seed)
	var reply primReply
	err := col.client.call("prim", run, primTimeout(run)+time.Minute, "result", &reply)
	r := reply.result
	switch {
	case err != nil:
		col.err, c.err = err, err
	case reply.Err != "":
		c.err = errors.New(reply.Err)
	}
	if c.err != nil {
		fmt.Fprintf(os.Stderr, "  %-13s %-5s %-7s failed: %v\n", row.kind.name, row.callers(), col.name, c.err)
		return
	}
	c.reps = append(c.reps, r)
	b.gob.primRep(row, col.name, r)
	fmt.Fprintf(os.Stderr, "  %-13s %-5s %-7s %9s ops/s  p50 %-7s p99 %-7s %s\n", row.kind.name, row.callers(), col.name,
		fmtRate(r.opsPerSec()), fmtDur(r.Lat.quantile(0.5)), fmtDur(r.Lat.quantile(0.99)), retryNote(r))
}
