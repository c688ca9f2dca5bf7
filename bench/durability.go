package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// durabilityModes maps the names accepted by -modes and -takeover-mode
// to the store's Durability values.
var durabilityModes = map[string]cyberdb.Durability{
	"always":   cyberdb.Always,
	"interval": cyberdb.Interval,
	"snapshot": cyberdb.Snapshot,
	"none":     cyberdb.None,
}

// storeOptions returns the options of a store in the named durability
// mode (always, interval, snapshot or none); every process of a store
// uses the same ones, since any of them may become the leader.
func storeOptions(mode string) (*cyberdb.Options, error) {
	d, ok := durabilityModes[strings.ToLower(mode)]
	if !ok {
		return nil, fmt.Errorf("bench: unknown durability mode %q (want always, interval, snapshot or none)", mode)
	}
	o := cyberdb.DefaultOptions()
	o.Durability = d
	return o, nil
}

// startGap is how far ahead of now the driver schedules the start of a
// cell, so that every client process begins at the same moment.
const startGap = 250 * time.Millisecond

// runDurability measures write throughput and latency for each
// durability mode and for Redis with each appendfsync policy, at each
// writer count. Every target is set up first and the cells then run
// interleaved (each writer count on every target in turn, -count times),
// so that background load on the machine falls on all targets alike.
func runDurability(b *bench) error {
	c := b.cfg
	fmt.Fprintf(b.out, "\n## durability: %s of a %d B value on random keys of %d; leader in its own process, writers in %d client process(es); %v per cell after %v warm-up, median of %d\n",
		c.op, c.valueSize, c.keys, c.procs, c.duration, c.warmup, c.count)
	targets := b.durabilityTargets()
	defer func() {
		for _, t := range targets {
			t.stop()
		}
	}()
	cells := b.runCells(targets)
	b.durabilityTable(cells)
	return failed(cells)
}

// live is a target ready to run cells: its client processes, and how
// to shut it down.
type live struct {
	name    string
	clients []*child
	stop    func()
	err     error // why the target is unusable; its cells fail with it
}

// durabilityTargets sets up the store in each mode and Redis with each
// fsync policy (unless redis-server is missing).
func (b *bench) durabilityTargets() []*live {
	var targets []*live
	for _, mode := range b.cfg.modes {
		targets = append(targets, b.storeTarget(mode))
	}
	if b.redis == "" {
		fmt.Fprintf(b.out, "Redis rows skipped: %q not found on PATH (install redis-server or pass -redis-server PATH)\n", b.cfg.redisServer)
		return targets
	}
	for _, fsync := range b.cfg.redisFsync {
		targets = append(targets, b.redisTarget(fsync))
	}
	return targets
}

// storeTarget starts a fresh store in one durability mode: its leader
// in its own process and the client processes.
func (b *bench) storeTarget(mode string) *live {
	t := &live{name: "cyberdb " + strings.ToLower(mode), stop: func() {}}
	dir, err := b.dir("store-" + mode + "-")
	if err != nil {
		t.err = err
		return t
	}
	sm := storeMsg{Dir: dir, Mode: mode, Profile: b.profile("leader-" + mode)}
	leader, err := b.startLeader(sm)
	if err != nil {
		t.err = err
		return t
	}
	sm.Profile = b.profile("client-" + mode)
	t.clients, t.err = b.startClients(clientMsg{Target: "store", Store: sm})
	t.stop = func() {
		stopAll(t.clients)
		if err := leader.stop(time.Minute); err != nil {
			fmt.Fprintf(os.Stderr, "%s: stopping the leader: %v\n", t.name, err)
		}
	}
	return t
}

// redisTarget starts a fresh Redis server with the appendfsync policy
// and the client processes.
func (b *bench) redisTarget(fsync string) *live {
	t := &live{name: "redis " + fsync, stop: func() {}}
	dir, err := b.dir("redis-" + fsync + "-")
	if err != nil {
		t.err = err
		return t
	}
	srv, err := startRedis(b.redis, dir, fsync)
	if err != nil {
		t.err = err
		return t
	}
	b.track(srv)
	cm := clientMsg{Target: "redis", Redis: srv.sock, Pool: perProc(b.cfg.writers, b.cfg.procs),
		Store: storeMsg{Profile: b.profile("client-redis-" + fsync)}}
	t.clients, t.err = b.startClients(cm)
	t.stop = func() {
		stopAll(t.clients)
		if err := srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", t.name, err)
		}
	}
	return t
}

// runCells runs every writer count on every target, -count times,
// interleaved; a target that fails is skipped from then on.
func (b *bench) runCells(targets []*live) []*cell {
	cells := make([]*cell, 0, len(targets)*len(b.cfg.writers))
	at := map[[2]int]*cell{}
	for ti, t := range targets {
		for wi, n := range b.cfg.writers {
			c := &cell{target: t.name, writers: n, err: t.err}
			at[[2]int{ti, wi}] = c
			cells = append(cells, c)
		}
	}
	for range b.cfg.count {
		for wi, n := range b.cfg.writers {
			for ti, t := range targets {
				b.runOne(t, n, at[[2]int{ti, wi}])
			}
		}
	}
	return cells
}

// runOne runs one repetition of a cell unless its target has failed.
func (b *bench) runOne(t *live, n int, c *cell) {
	if t.err != nil {
		c.err = t.err
		return
	}
	res, err := b.runCell(t.clients, n)
	if err != nil {
		t.err, c.err = err, err
		fmt.Fprintf(os.Stderr, "  %-16s writers=%-3d failed: %v\n", t.name, n, err)
		return
	}
	c.reps = append(c.reps, res)
	b.gob.rep("Durability/op="+b.cfg.op, t.name, n, res)
	fmt.Fprintf(os.Stderr, "  %-16s writers=%-3d %10s ops/s  p50 %-8s p99 %s\n", t.name, n,
		fmtRate(res.opsPerSec()), fmtDur(res.Lat.quantile(0.5)), fmtDur(res.Lat.quantile(0.99)))
}

// startLeader starts a leader process on a fresh store.
func (b *bench) startLeader(sm storeMsg) (*child, error) {
	leader, err := b.spawn("leader")
	if err != nil {
		return nil, err
	}
	if err := leader.call("open", sm, time.Minute, "ready", nil); err != nil {
		leader.kill()
		return nil, err
	}
	return leader, nil
}

// perProc returns the most writers any one client process runs.
func perProc(writers []int, procs int) int {
	most := 1
	for _, w := range writers {
		most = max(most, (w+procs-1)/procs)
	}
	return most
}

// startClients starts -writer-procs client processes connected to one
// target.
func (b *bench) startClients(cm clientMsg) ([]*child, error) {
	return b.startN(b.cfg.procs, cm)
}

// startN starts n client processes connected to one target.
func (b *bench) startN(n int, cm clientMsg) ([]*child, error) {
	var clients []*child
	for i := range n {
		c, err := b.spawn("client")
		if err != nil {
			stopAll(clients)
			return nil, err
		}
		clients = append(clients, c)
		m := cm
		if m.Store.Profile != "" {
			m.Store.Profile = fmt.Sprintf("%s.%d", m.Store.Profile, i)
		}
		if err := c.call("open", m, time.Minute, "ready", nil); err != nil {
			stopAll(clients)
			return nil, err
		}
	}
	return clients, nil
}

// stopAll stops client processes.
func stopAll(kids []*child) {
	for _, c := range kids {
		c.stop(30 * time.Second)
	}
}

// runCell runs n writers spread over the client processes, all starting
// at the same moment, and merges their results.
func (b *bench) runCell(clients []*child, n int) (result, error) {
	c := b.cfg
	w := workload{Op: c.op, Keys: c.keys, ValueSize: c.valueSize, Warmup: c.warmup, Duration: c.duration,
		StartAt: time.Now().Add(startGap).UnixNano(), Seed: uint64(n)}
	var busy []*child
	for i, cl := range clients {
		w.Workers = n/len(clients) + btoi(i < n%len(clients))
		if w.Workers == 0 {
			continue
		}
		if err := cl.send("run", w); err != nil {
			return result{}, err
		}
		busy = append(busy, cl)
	}
	total := result{Lat: newHist()}
	for _, cl := range busy {
		var r result
		if err := cl.recv(c.warmup+c.duration+startGap+time.Minute, "result", &r); err != nil {
			return result{}, err
		}
		total.merge(r)
	}
	return total, nil
}

// btoi returns 1 for true.
func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// durabilityTable prints the suite's table, each row compared with Redis
// appendfsync always at the same writer count, and the headline ratio.
func (b *bench) durabilityTable(cells []*cell) {
	find := func(target string, n int) *cell {
		for _, c := range cells {
			if c.target == target && c.writers == n {
				return c
			}
		}
		return nil
	}
	var rows []string
	for _, c := range cells {
		rows = append(rows, cellRow(c, find("redis always", c.writers)))
	}
	fmt.Fprintln(b.out)
	table(b.out, "target\twriters\tops/s\tp50\tp99\tvs redis always\terrors", rows)
	n := b.cfg.writers[len(b.cfg.writers)-1]
	ours, theirs := find("cyberdb always", n), find("redis always", n)
	if ours == nil || theirs == nil || !ours.ok() || !theirs.ok() {
		return
	}
	ratio := ours.rate() / theirs.rate()
	fmt.Fprintf(b.out, "\ncyberdb always@%d / redis always@%d = %.2fx (target >= 1.5x: %s)\n", n, n, ratio, verdict(ratio >= 1.5))
}

// verdict names whether a target was met.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// failed returns an error naming the first failed cell, if any.
func failed(cells []*cell) error {
	for _, c := range cells {
		if c.err != nil {
			return fmt.Errorf("%s at %d writers: %w", c.target, c.writers, c.err)
		}
	}
	return nil
}
