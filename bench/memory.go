package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// memMsg is a process's memory: for a Go process its heap in use after a
// garbage collection, for Redis its used_memory; and the resident set.
type memMsg struct {
	Heap uint64 `json:"heap"`
	RSS  uint64 `json:"rss"`
}

// memFigures is the memory suite's outcome for one target.
type memFigures struct {
	name      string
	heap, rss float64 // bytes per key
	load      time.Duration
	err       error
}

// runMemory loads the same keys into the store's leader and into Redis
// and compares the memory each takes per key.
func runMemory(b *bench) error {
	c := b.cfg.large
	fmt.Fprintf(b.out, "\n## memory: %d keys of %d B values in one dict (store leader, Durability %s) vs SET keys in Redis (no AOF)\n",
		c.memoryKeys, c.memoryValue, b.cfg.ops.mode)
	fmt.Fprintln(b.out, "heap: Go heap in use after GC (cyberdb), used_memory (Redis); RSS after debug.FreeOSMemory (cyberdb); deltas over the load, per key")
	figs := []memFigures{b.memoryStore()}
	if b.redis == "" {
		fmt.Fprintf(b.out, "Redis row skipped: %q not found on PATH\n", b.cfg.redisServer)
	} else {
		figs = append(figs, b.memoryRedis())
	}
	b.memoryTable(figs)
	for _, f := range figs {
		if f.err != nil {
			return fmt.Errorf("%s: %w", f.name, f.err)
		}
	}
	return nil
}

// memoryStore measures the store's leader before and after the load.
func (b *bench) memoryStore() memFigures {
	c := b.cfg.large
	f := memFigures{name: "cyberdb"}
	dir, err := b.dir("memory-")
	if err != nil {
		f.err = err
		return f
	}
	leader, err := b.startLeader(storeMsg{Dir: dir, Mode: b.cfg.ops.mode})
	if err != nil {
		f.err = err
		return f
	}
	defer leader.stop(5 * time.Minute)
	var before, after memMsg
	var p preloadedMsg
	pm := preloadMsg{Table: "memory", Keys: c.memoryKeys, ValueSize: c.memoryValue, Chunk: 10_000}
	if f.err = leader.call("memstats", nil, time.Minute, "memstats", &before); f.err != nil {
		return f
	}
	if f.err = leader.call("preload", pm, 10*time.Minute, "preloaded", &p); f.err != nil {
		return f
	}
	f.err = leader.call("memstats", nil, time.Minute, "memstats", &after)
	f.load, f.heap, f.rss = p.Elapsed, perKey(after.Heap, before.Heap, c.memoryKeys), perKey(after.RSS, before.RSS, c.memoryKeys)
	return f
}

// memoryRedis measures a fresh Redis server before and after the load.
func (b *bench) memoryRedis() memFigures {
	c := b.cfg.large
	f := memFigures{name: "redis"}
	dir, err := b.dir("redis-mem-")
	if err != nil {
		f.err = err
		return f
	}
	srv, err := startRedis(b.redis, dir, "off")
	if err != nil {
		f.err = err
		return f
	}
	b.track(srv)
	defer srv.stop()
	t, err := dialRedis(srv.sock, 1)
	if err != nil {
		f.err = err
		return f
	}
	defer t.close()
	before, err := redisMem(t.c, srv.cmd.Process.Pid)
	if err != nil {
		f.err = err
		return f
	}
	start := time.Now()
	if f.err = t.load(preloadMsg{Keys: c.memoryKeys, ValueSize: c.memoryValue, Chunk: 1000}); f.err != nil {
		return f
	}
	f.load = time.Since(start)
	after, err := redisMem(t.c, srv.cmd.Process.Pid)
	f.err, f.heap, f.rss = err, perKey(after.Heap, before.Heap, c.memoryKeys), perKey(after.RSS, before.RSS, c.memoryKeys)
	return f
}

// memoryTable prints the suite's table and the headline check.
func (b *bench) memoryTable(figs []memFigures) {
	keys := b.cfg.large.memoryKeys
	var redis *memFigures
	for i := range figs {
		if figs[i].name == "redis" && figs[i].err == nil {
			redis = &figs[i]
		}
	}
	var rows []string
	for _, f := range figs {
		if f.err != nil {
			rows = append(rows, fmt.Sprintf("%s\t%d\tfailed: %v\t\t\t\t", f.name, keys, f.err))
			continue
		}
		heapRatio, rssRatio := "-", "-"
		if redis != nil {
			heapRatio, rssRatio = fmt.Sprintf("%.2fx", f.heap/redis.heap), fmt.Sprintf("%.2fx", f.rss/redis.rss)
		}
		rows = append(rows, fmt.Sprintf("%s\t%d\t%s\t%.0f B\t%.0f B\t%s\t%s", f.name, keys, fmtDur(f.load), f.heap, f.rss, heapRatio, rssRatio))
		b.gob.line(fmt.Sprintf("Memory/target=%s/keys=%d/value=%d", f.name, keys, b.cfg.large.memoryValue), int64(keys),
			metric{f.heap, "heap-B/key"}, metric{f.rss, "rss-B/key"})
	}
	fmt.Fprintln(b.out)
	table(b.out, "target\tkeys\tload\theap/key\tRSS/key\theap vs redis\tRSS vs redis", rows)
	if store := figs[0]; store.err == nil && redis != nil {
		fmt.Fprintf(b.out, "\nmemory per key <= Redis (target): heap %.0f B vs %.0f B: %s; RSS %.0f B vs %.0f B: %s\n",
			store.heap, redis.heap, verdictOf(store.heap <= redis.heap, true), store.rss, redis.rss, verdictOf(store.rss <= redis.rss, true))
	}
}

// perKey returns the growth from before to after, per key.
func perKey(after, before uint64, keys int) float64 {
	return (float64(after) - float64(before)) / float64(keys)
}

// readMem collects garbage, returns freed memory to the OS and reads
// this process's heap in use and resident set.
func readMem() (memMsg, error) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss, err := readRSS("self")
	return memMsg{Heap: m.HeapInuse, RSS: rss}, err
}

// redisMem reads a Redis server's used_memory and the resident set of
// its process.
func redisMem(c *redis.Client, pid int) (memMsg, error) {
	info, err := c.Info(context.Background(), "memory").Result()
	if err != nil {
		return memMsg{}, err
	}
	used, err := infoField(info, "used_memory")
	if err != nil {
		return memMsg{}, err
	}
	rss, err := readRSS(strconv.Itoa(pid))
	return memMsg{Heap: used, RSS: rss}, err
}

// readRSS returns the resident set of process pid ("self" for this one)
// in bytes.
func readRSS(pid string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/statm")
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	return parseStatm(string(b), os.Getpagesize())
}

// parseStatm returns the resident set in bytes from the content of a
// /proc/PID/statm file (sizes in pages: total, resident, ...).
func parseStatm(s string, pageSize int) (uint64, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, fmt.Errorf("bench: statm %q: too few fields", s)
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: statm %q: %w", s, err)
	}
	return pages * uint64(pageSize), nil
}

// infoField returns the integer field name of a Redis INFO reply.
func infoField(info, name string) (uint64, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return strconv.ParseUint(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: redis INFO has no %s", name)
}
