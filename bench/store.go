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

// leaderCommand runs one driver command in the leader process.
func leaderCommand(l *link, db *cyberdb.DB, cmd envelope) error {
	switch cmd.Kind {
	case "preload":
		var p preloadMsg
		if err := decodeData(cmd, &p); err != nil {
			return err
		}
		start := time.Now()
		if err := preload(db, p); err != nil {
			return err
		}
		l.reply("preloaded", preloadedMsg{Elapsed: time.Since(start)})
		return nil
	default:
		return fmt.Errorf("leader: unknown command %q", cmd.Kind)
	}
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
		if err := d.Update(ctx, m); err != nil {
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
