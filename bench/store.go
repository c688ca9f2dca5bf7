package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// storeMsg tells a child which store to open and how.
type storeMsg struct {
	Dir     string `json:"dir"`
	Mode    string `json:"mode"`
	Profile string `json:"profile,omitempty"` // CPU profile file for this process; "" = none
}

// readyMsg is a child's answer once its store or client is open.
type readyMsg struct {
	Pid    int  `json:"pid"`
	Leader bool `json:"leader"`
}

// preloadMsg asks the leader to fill a dict table before the benchmark.
type preloadMsg struct {
	Table     string `json:"table"`
	Keys      int    `json:"keys"`
	ValueSize int    `json:"value_size"`
	Chunk     int    `json:"chunk"`
}

// preloadedMsg reports how long a preload took.
type preloadedMsg struct {
	Elapsed time.Duration `json:"elapsed"`
}

// openStore opens the store described by m with the library's logs going
// to this process's default logger.
func openStore(m storeMsg) (*cyberdb.DB, error) {
	opts, err := storeOptions(m.Mode)
	if err != nil {
		return nil, err
	}
	opts.Logger = slog.Default()
	return cyberdb.Open(m.Dir, opts)
}

// leaderMain runs a leader process: it opens the store, which must make
// it the leader, serves commands until the driver closes stdin, and then
// closes the store gracefully.
func leaderMain(l *link) error {
	var m storeMsg
	if err := l.expect("open", &m); err != nil {
		return err
	}
	defer startProfile(m.Profile)()
	db, err := openStore(m)
	if err != nil {
		return err
	}
	if !db.IsLeader() {
		db.Close()
		return errors.New("another process already leads this store")
	}
	l.reply("ready", readyMsg{Pid: os.Getpid(), Leader: true})
	for cmd, ok := l.next(); ok; cmd, ok = l.next() {
		if err := leaderCommand(l, db, cmd); err != nil {
			db.Close()
			return err
		}
	}
	return db.Close()
}

// leaderCommand runs one driver command in the leader process: those of
// every ops process (preload, drop, ops and memstats, with local calls)
// and snapshot.
func leaderCommand(l *link, db *cyberdb.DB, cmd envelope) error {
	if cmd.Kind != "snapshot" {
		if err := serveCommand(l, &storeTarget{db: db}, cmd); err != nil {
			return fmt.Errorf("leader: %w", err)
		}
		return nil
	}
	var m snapshotMsg
	if err := decodeData(cmd, &m); err != nil {
		return err
	}
	r, err := snapshotLoad(db, m)
	if err != nil {
		return err
	}
	l.reply("snapshotted", r)
	return nil
}

// preload fills table with p.Keys keys in Update calls of p.Chunk pairs.
func preload(db *cyberdb.DB, p preloadMsg) error {
	ctx := context.Background()
	d, err := db.EnsureDict(ctx, p.Table)
	if err != nil {
		return err
	}
	keys := keyNames(p.Keys)
	value := randomValue(p.ValueSize, 1)
	for lo := 0; lo < len(keys); lo += p.Chunk {
		m := make(map[string][]byte, p.Chunk)
		for _, k := range keys[lo:min(lo+p.Chunk, len(keys))] {
			m[k] = value
		}
		if err := d.SetMany(ctx, m); err != nil {
			return fmt.Errorf("preloading keys %d..: %w", lo, err)
		}
	}
	return nil
}

// storeTarget runs workload operations against a client of the store.
type storeTarget struct {
	db *cyberdb.DB
}

// openStoreClient opens the store as a client of a leader in another
// process.
func openStoreClient(m storeMsg) (*storeTarget, error) {
	db, err := openStore(m)
	if err != nil {
		return nil, err
	}
	if db.IsLeader() {
		db.Close()
		return nil, errors.New("no leader process is running: this client became the leader")
	}
	return &storeTarget{db: db}, nil
}

// op returns the function performing one operation of kind name on the
// dict table "bench-<name>".
func (t *storeTarget) op(name string, value []byte) (opFunc, error) {
	d, err := t.db.EnsureDict(context.Background(), "bench-"+name)
	if err != nil {
		return nil, err
	}
	switch name {
	case "set":
		return func(ctx context.Context, key string) error { return d.Set(ctx, key, value) }, nil
	case "get":
		return func(ctx context.Context, key string) error {
			var v []byte
			_, err := d.Get(ctx, key, &v)
			return err
		}, nil
	case "incr":
		return func(ctx context.Context, key string) error {
			_, err := d.Incr(ctx, key, 1)
			return err
		}, nil
	}
	return nil, fmt.Errorf("unknown op %q (want set, get or incr)", name)
}

func (t *storeTarget) close() error { return t.db.Close() }

// load preloads a dict table.
func (t *storeTarget) load(p preloadMsg) error { return preload(t.db, p) }

// drop drops a table.
func (t *storeTarget) drop(table string) error {
	return t.db.DropTable(context.Background(), table)
}

// conn returns one goroutine's handles on the ops suite's tables: the
// preloaded dict of c's value size, the dict "incr" and the list "list".
func (t *storeTarget) conn(c opsCell, keys int, seed uint64) (opConn, error) {
	ctx := context.Background()
	kv, err := t.db.EnsureDict(ctx, kvTable(c.ValueSize))
	if err != nil {
		return nil, err
	}
	incr, err := t.db.EnsureDict(ctx, "incr")
	if err != nil {
		return nil, err
	}
	list, err := t.db.EnsureList(ctx, "list")
	if err != nil {
		return nil, err
	}
	return &storeConn{kv: kv, incr: incr, list: list, keys: keyNames(keys),
		value: randomValue(c.ValueSize, seed), batch: t.db.Batch()}, nil
}

// storeConn is one goroutine's handles on the store in the ops suite.
type storeConn struct {
	kv, incr *cyberdb.Dict
	list     *cyberdb.List
	keys     []string
	value    any    // the payload of writes, converted to an interface once
	buf      []byte // destination of reads, reused
	batch    *cyberdb.Batch
}

func (c *storeConn) do(ctx context.Context, op opKind, key int) error {
	var err error
	switch op {
	case opGet:
		_, err = c.kv.Get(ctx, c.keys[key], &c.buf)
	case opSet:
		err = c.kv.Set(ctx, c.keys[key], c.value)
	case opIncr:
		_, err = c.incr.Incr(ctx, c.keys[key], 1)
	case opPush:
		err = c.list.Append(ctx, c.value)
	case opPop:
		err = c.list.Pop(ctx, -1, &c.buf)
	}
	return err
}

func (c *storeConn) queue(op opKind, key int) {
	switch op {
	case opGet:
		c.batch.Get(c.kv, c.keys[key])
	case opSet:
		c.batch.Set(c.kv, c.keys[key], c.value)
	case opIncr:
		c.batch.Incr(c.incr, c.keys[key], 1)
	case opPush:
		c.batch.Append(c.list, c.value)
	case opPop:
		c.batch.Pop(c.list, -1)
	}
}

func (c *storeConn) flush(ctx context.Context) error { return c.batch.Run(ctx) }

func (c *storeConn) close() error { return nil }

// startProfile writes a CPU profile to path until the returned function
// is called; an empty path profiles nothing.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		slog.Warn("bench: cpu profile", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		slog.Warn("bench: cpu profile", "err", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
