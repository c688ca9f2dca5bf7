package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"
)

// opFunc performs one operation on key.
type opFunc func(ctx context.Context, key string) error

// target is something a client process runs the durability suite's
// operations against: the store or a Redis server.
type target interface {
	// op returns the function performing one operation of the named kind
	// (set, get, incr) with value as the payload of writes.
	op(name string, value []byte) (opFunc, error)
	close() error
}

// closer is a target of any suite, as a client process holds it.
type closer interface {
	close() error
}

// clientMsg tells a client process what to connect to.
type clientMsg struct {
	Target string   `json:"target"` // "store", "redis", "echo" or "rwmap"
	Store  storeMsg `json:"store"`
	Redis  string   `json:"redis"` // Redis socket path
	Pool   int      `json:"pool"`  // Redis connection pool size
	Echo   string   `json:"echo"`  // echo server socket path
}

// workload is one measured run in a client process: Workers goroutines
// each doing Op on random keys out of Keys, warming up from StartAt for
// Warmup, then measured for Duration.
type workload struct {
	Op        string        `json:"op"`
	Keys      int           `json:"keys"`
	ValueSize int           `json:"value_size"`
	Workers   int           `json:"workers"`
	StartAt   int64         `json:"start_at"` // wall clock, Unix ns, shared by all client processes
	Warmup    time.Duration `json:"warmup"`
	Duration  time.Duration `json:"duration"`
	Seed      uint64        `json:"seed"`
}

// result is what a measured run produced.
type result struct {
	Ops      int64         `json:"ops"`
	Calls    int64         `json:"calls,omitempty"` // ops suite: calls (batches count once)
	Errors   int64         `json:"errors"`
	FirstErr string        `json:"first_err,omitempty"`
	Elapsed  time.Duration `json:"elapsed"`           // the measured window
	Lat      *hist         `json:"lat"`               // per call
	Mallocs  uint64        `json:"mallocs,omitempty"` // ops suite: heap allocations of the calling processes
	Retries  int64         `json:"retries,omitempty"` // primitives suite: attempts lost to a conflict and made again
}

// opsPerSec returns the throughput of r.
func (r result) opsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// merge adds o, run at the same time in another process, to r.
func (r *result) merge(o result) {
	r.Ops += o.Ops
	r.Calls += o.Calls
	r.Mallocs += o.Mallocs
	r.Retries += o.Retries
	r.Errors += o.Errors
	if r.FirstErr == "" {
		r.FirstErr = o.FirstErr
	}
	r.Elapsed = max(r.Elapsed, o.Elapsed)
	if r.Lat == nil {
		r.Lat = newHist()
	}
	r.Lat.merge(o.Lat)
}

// mergeAll merges results run at the same time.
func mergeAll(rs []result) result {
	t := result{Lat: newHist()}
	for _, r := range rs {
		t.merge(r)
	}
	return t
}

// fail counts a failed operation.
func (r *result) fail(err error) {
	r.Errors++
	if r.FirstErr == "" {
		r.FirstErr = err.Error()
	}
}

// clientMain runs a client process: it connects to its target and runs
// the commands the driver sends until the driver closes stdin.
func clientMain(l *link) error {
	var m clientMsg
	if err := l.expect("open", &m); err != nil {
		return err
	}
	defer startProfile(m.Store.Profile)()
	t, err := openTarget(m)
	if err != nil {
		return err
	}
	defer t.close()
	l.reply("ready", readyMsg{Pid: os.Getpid()})
	for cmd, ok := l.next(); ok; cmd, ok = l.next() {
		if err := clientCommand(l, t, cmd); err != nil {
			return err
		}
	}
	return t.close()
}

// clientCommand runs one driver command in a client process.
func clientCommand(l *link, t closer, cmd envelope) error {
	if cmd.Kind != "run" {
		return serveCommand(l, t, cmd)
	}
	dt, ok := t.(target)
	if !ok {
		return fmt.Errorf("target %T cannot run the durability suite", t)
	}
	var w workload
	if err := decodeData(cmd, &w); err != nil {
		return err
	}
	r, err := runWorkload(dt, w)
	if err != nil {
		return err
	}
	l.reply("result", r)
	return nil
}

// openTarget connects to the target m names.
func openTarget(m clientMsg) (closer, error) {
	switch m.Target {
	case "store":
		return openStoreClient(m.Store)
	case "redis":
		return dialRedis(m.Redis, m.Pool)
	case "echo":
		return &echoTarget{sock: m.Echo}, nil
	case "rwmap":
		return newRWMap(), nil
	}
	return nil, fmt.Errorf("unknown target %q", m.Target)
}

// runWorkload runs w against t and measures it.
func runWorkload(t target, w workload) (result, error) {
	do, err := t.op(w.Op, randomValue(w.ValueSize, w.Seed))
	if err != nil {
		return result{}, err
	}
	keys := keyNames(w.Keys)
	from, end := window(w.StartAt, w.Warmup, w.Duration)
	ctx, cancel := context.WithDeadline(context.Background(), end.Add(30*time.Second))
	defer cancel()
	parts := make([]result, w.Workers)
	var wg sync.WaitGroup
	for i := range parts {
		r := rand.New(rand.NewPCG(w.Seed, uint64(i)))
		wg.Go(func() { parts[i] = loop(ctx, do, keys, r, from, end) })
	}
	wg.Wait()
	total := mergeAll(parts)
	total.Elapsed = max(end.Sub(from), 0)
	return total, nil
}

// window sleeps until startAt (wall clock, Unix ns) and returns the
// measuring window of a run that warms up for warmup, then measures for
// duration: from now instead if preparing overran the warm-up.
func window(startAt int64, warmup, duration time.Duration) (from, end time.Time) {
	start := time.Unix(0, startAt)
	from, end = start.Add(warmup), start.Add(warmup+duration)
	time.Sleep(time.Until(start))
	if now := time.Now(); now.After(from) {
		from = now
	}
	return from, end
}

// loop does operations on random keys until end, recording those that
// start at or after from.
func loop(ctx context.Context, do opFunc, keys []string, r *rand.Rand, from, end time.Time) result {
	res := result{Lat: newHist()}
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			return res
		}
		err := do(ctx, keys[r.IntN(len(keys))])
		if t0.Before(from) {
			continue
		}
		if err != nil {
			res.fail(err)
			continue
		}
		res.Ops++
		res.Lat.add(time.Since(t0))
	}
}

// keyCache holds key name lists by size, so repeated runs in one process
// do not rebuild them.
var keyCache sync.Map // int -> []string

// keyNames returns n distinct keys, the same in every process.
func keyNames(n int) []string {
	if n <= 0 {
		n = 1
	}
	if k, ok := keyCache.Load(n); ok {
		return k.([]string)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%08d", i)
	}
	keyCache.Store(n, keys)
	return keys
}

// prefixedCache holds prefixed key name lists by prefix and size.
var prefixedCache sync.Map // prefixKey -> []string

// prefixKey identifies a list of prefixed key names.
type prefixKey struct {
	prefix string
	n      int
}

// prefixedKeys returns keyNames(n) with "prefix:" before each: the key
// names of one table in Redis's flat key space. An empty prefix gives
// keyNames(n).
func prefixedKeys(prefix string, n int) []string {
	if prefix == "" {
		return keyNames(n)
	}
	if k, ok := prefixedCache.Load(prefixKey{prefix, n}); ok {
		return k.([]string)
	}
	keys := slices.Clone(keyNames(n))
	for i, k := range keys {
		keys[i] = prefix + ":" + k
	}
	prefixedCache.Store(prefixKey{prefix, n}, keys)
	return keys
}

// randomValue returns size pseudo-random bytes determined by seed.
func randomValue(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
