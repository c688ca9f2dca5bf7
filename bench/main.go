// Command bench measures the store against Redis on a Unix socket, with
// the store's leader in its own process and the clients in others, the
// way applications run it.
//
//	go run ./bench                              # every suite, defaults
//	go run ./bench -suite ops                   # throughput: default matrix
//	go run ./bench -suite ops -full -count 3    # the full matrix, medians of 3
//	go run ./bench -suite durability -writers 1,64 -duration 5s
//	go run ./bench -suite takeover -rounds 20 -takeover-keys 100000
//	go run ./bench -suite primitives -prim-clients 1,64
//	go run ./bench -gobench-output new.txt      # then: benchstat old.txt new.txt
//
// Suites: ops (get, set, incr, list and mixed throughput from client
// processes and from the leader's own process, next to Redis, a raw
// Unix-socket echo server and a map behind a sync.RWMutex), durability
// (durable write throughput for each Durability mode, next to Redis with
// appendfsync always and everysec), takeover (the time from SIGKILL of
// the leader to the first successful call on a surviving process), memory
// (bytes per key, next to Redis), snapshot (Save time and the pauses it
// causes) and primitives (TTL writes, transactions, a blocking queue,
// watches and locks, each next to its Redis equivalent). Without
// redis-server on PATH the Redis rows are skipped.
// The same binary re-executes itself as the leader, client and server
// processes; they report back as JSON lines on stdout.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// config holds the command line.
type config struct {
	suites      []string
	dir         string
	verbose     bool
	keep        bool
	gobench     string
	cpuprofile  string
	redisServer string
	count       int
	keys        int

	// durability suite
	modes      []string
	redisFsync []string
	writers    []int
	procs      int
	op         string
	valueSize  int
	warmup     time.Duration
	duration   time.Duration

	// takeover suite
	takeoverMode  string
	sizes         []int
	takeoverValue int
	rounds        int
	survivors     int
	callTimeout   time.Duration
	poll          time.Duration

	ops   opsConfig
	large largeConfig
	prim  primConfig
}

// suite is one named benchmark the command can run.
type suite struct {
	name  string
	about string
	run   func(b *bench) error
}

// suites lists every suite in the order "all" runs them.
var suites = []suite{
	{"ops", "get, set, incr, list and mix throughput vs Redis, raw echo and an RWMutex map", runOps},
	{"durability", "durable write throughput per Durability mode vs Redis AOF", runDurability},
	{"takeover", "SIGKILL of the leader to the first successful call on a survivor", runTakeover},
	{"memory", "bytes per key of a large dict vs Redis", runMemory},
	{"snapshot", "Save time of a large dict and the pauses it causes", runSnapshot},
	{"primitives", "TTL writes, transactions, blocking queue, watches and locks vs their Redis equivalents", runPrimitives},
}

func main() {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(run(cfg, os.Stdout))
}

// parseFlags parses the command line into a config.
func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	suite := fs.String("suite", "all", "comma-separated suites: "+suiteNames()+", or all")
	fs.StringVar(&c.dir, "dir", "", "parent of the temporary store and Redis directories (default $TMPDIR); fsync speed depends on its file system")
	fs.BoolVar(&c.verbose, "v", false, "show the child processes' library logs")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary directories")
	fs.StringVar(&c.gobench, "gobench-output", "", "also write testing.B-format lines to this file (- for stdout), for benchstat")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write CPU profiles of the leader and client processes to files with this prefix")
	fs.StringVar(&c.redisServer, "redis-server", "redis-server", "redis-server binary (looked up on PATH); off skips Redis")
	fs.IntVar(&c.count, "count", 1, "ops, durability and primitives suites: runs of each cell, interleaved across targets; the tables show medians")
	fs.IntVar(&c.keys, "keys", 100_000, "ops, durability and primitives suites: key space (preloaded by ops and durability)")
	finish := []func() error{c.durabilityFlags(fs), c.takeoverFlags(fs), c.ops.flags(fs), c.large.flags(fs), c.prim.flags(fs)}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	var err error
	c.suites, err = parseSuites(*suite)
	for _, f := range finish {
		err = errors.Join(err, f())
	}
	if err != nil {
		return nil, err
	}
	c.ops.explicit = c.ops.full || anySet(fs, opsMatrixFlags...)
	return c, c.validate()
}

// durabilityFlags registers the durability suite's flags and returns the
// function that parses its lists after fs.Parse.
func (c *config) durabilityFlags(fs *flag.FlagSet) func() error {
	modes := fs.String("modes", "always,interval,snapshot,none", "durability suite: Durability modes of the store")
	fsync := fs.String("redis-fsync", "always,everysec", "durability suite: Redis appendfsync policies")
	writers := fs.String("writers", "1,16,64", "durability suite: concurrent writers per cell")
	fs.IntVar(&c.procs, "writer-procs", 1, "durability suite: client processes the writers are spread over")
	fs.StringVar(&c.op, "op", "set", "durability suite: operation: set, incr or get")
	fs.IntVar(&c.valueSize, "value", 16, "durability suite: value size in bytes (set)")
	fs.DurationVar(&c.warmup, "warmup", 200*time.Millisecond, "durability suite: unmeasured warm-up per cell")
	fs.DurationVar(&c.duration, "duration", time.Second, "durability suite: measured time per cell")
	return func() (err error) {
		c.modes, c.redisFsync = splitList(*modes), splitList(*fsync)
		c.writers, err = parseInts(*writers, "writers")
		return err
	}
}

// takeoverFlags registers the takeover suite's flags and returns the
// function that parses its lists after fs.Parse.
func (c *config) takeoverFlags(fs *flag.FlagSet) func() error {
	fs.StringVar(&c.takeoverMode, "takeover-mode", "interval", "takeover suite: Durability mode of the store")
	sizes := fs.String("takeover-keys", "100000,1000000", "takeover suite: store sizes in keys")
	fs.IntVar(&c.takeoverValue, "takeover-value", 64, "takeover suite: value size in bytes")
	fs.IntVar(&c.rounds, "rounds", 10, "takeover suite: leader kills per size")
	fs.IntVar(&c.survivors, "survivors", 2, "takeover suite: client processes that outlive each kill")
	fs.DurationVar(&c.callTimeout, "call-timeout", 20*time.Millisecond, "takeover suite: timeout of each survivor call")
	fs.DurationVar(&c.poll, "poll", time.Millisecond, "takeover suite: pause between survivor calls")
	return func() (err error) {
		c.sizes, err = parseInts(*sizes, "takeover-keys")
		return err
	}
}

// anySet reports whether any of the named flags was given.
func anySet(fs *flag.FlagSet, names ...string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || slices.Contains(names, f.Name) })
	return set
}

// validate checks the values parsing could not.
func (c *config) validate() error {
	switch {
	case c.procs < 1 || c.count < 1:
		return fmt.Errorf("bench: -writer-procs and -count must be at least 1")
	case c.keys < 1 || c.valueSize < 0 || c.takeoverValue < 0:
		return fmt.Errorf("bench: -keys must be positive and value sizes not negative")
	case c.rounds < 1 || c.survivors < 1:
		return fmt.Errorf("bench: -rounds and -survivors must be at least 1")
	case c.duration <= 0 || c.callTimeout <= 0:
		return fmt.Errorf("bench: -duration and -call-timeout must be positive")
	}
	for _, m := range append(slices.Clone(c.modes), c.takeoverMode, c.ops.mode, c.large.snapshotMode) {
		if _, err := storeOptions(m); err != nil {
			return err
		}
	}
	return errors.Join(c.ops.validate(), c.large.validate(), c.prim.validate())
}

// suiteNames lists the suites for the usage text.
func suiteNames() string {
	var names []string
	for _, s := range suites {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

// parseSuites resolves a comma-separated list of suite names.
func parseSuites(list string) ([]string, error) {
	if list == "all" {
		return strings.Split(strings.ReplaceAll(suiteNames(), " ", ""), ","), nil
	}
	names := splitList(list)
	for _, n := range names {
		if !slices.ContainsFunc(suites, func(s suite) bool { return s.name == n }) {
			return nil, fmt.Errorf("bench: unknown suite %q (have %s)", n, suiteNames())
		}
	}
	return names, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(s, name string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bench: -%s: %q is not a positive integer", name, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: -%s is empty", name)
	}
	return out, nil
}

// bench is the state of one run of the command.
type bench struct {
	cfg   *config
	root  string    // temporary directory holding every store and Redis directory
	redis string    // redis-server path; "" skips the Redis rows
	out   io.Writer // human-readable tables
	gob   *gobench  // testing.B-format output; nil when not asked for

	mu      sync.Mutex     // protects kids, servers
	kids    []*child       // every child process started, for cleanup
	servers []*redisServer // every Redis server started, for cleanup
}

// run runs the configured suites and returns the exit code.
func run(cfg *config, out io.Writer) int {
	b, err := newBench(cfg, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer b.cleanup()
	go b.cleanupOnSignal()
	b.header()
	code := 0
	for _, name := range cfg.suites {
		s := suites[slices.IndexFunc(suites, func(s suite) bool { return s.name == name })]
		if err := s.run(b); err != nil {
			fmt.Fprintf(os.Stderr, "bench: suite %s: %v\n", s.name, err)
			code = 1
		}
	}
	if err := b.gob.closeOut(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// newBench prepares the temporary directory and the outputs.
func newBench(cfg *config, out io.Writer) (*bench, error) {
	root, err := os.MkdirTemp(cfg.dir, "cdb")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	b := &bench{cfg: cfg, root: root, redis: findRedis(cfg.redisServer), out: out}
	if b.gob, err = openGobench(cfg.gobench, out); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return b, nil
}

// header prints what the figures were measured on.
func (b *bench) header() {
	fmt.Fprintf(b.out, "cyberdb bench: %s, %s/%s, %d CPUs, GOMAXPROCS %d, data in %s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), b.root)
	if b.redis == "" {
		fmt.Fprintf(b.out, "redis: %q not found on PATH (or -redis-server off): Redis rows are skipped\n", b.cfg.redisServer)
	} else {
		fmt.Fprintf(b.out, "redis: %s (%s)\n", b.redis, redisVersion(b.redis))
	}
}

// spawn starts a child process and tracks it for cleanup.
func (b *bench) spawn(role string) (*child, error) {
	c, err := spawn(role, b.cfg.verbose)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.kids = append(b.kids, c)
	b.mu.Unlock()
	return c, nil
}

// track registers a Redis server for cleanup.
func (b *bench) track(s *redisServer) {
	b.mu.Lock()
	b.servers = append(b.servers, s)
	b.mu.Unlock()
}

// dir creates and returns a fresh directory for one store or server.
func (b *bench) dir(name string) (string, error) {
	d, err := os.MkdirTemp(b.root, name)
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return d, nil
}

// profile returns the CPU profile path for a process named name, or ""
// without -cpuprofile.
func (b *bench) profile(name string) string {
	if b.cfg.cpuprofile == "" {
		return ""
	}
	return b.cfg.cpuprofile + "." + name + ".pprof"
}

// cleanup kills child processes still running and removes the temporary
// directory.
func (b *bench) cleanup() {
	b.mu.Lock()
	kids, servers := b.kids, b.servers
	b.kids, b.servers = nil, nil
	b.mu.Unlock()
	for _, s := range servers {
		s.stop()
	}
	for _, c := range kids {
		select {
		case <-c.done:
		default:
			c.kill()
		}
	}
	if !b.cfg.keep {
		os.RemoveAll(b.root)
	}
}

// cleanupOnSignal cleans up and exits on SIGINT or SIGTERM.
func (b *bench) cleanupOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	<-ch
	fmt.Fprintln(os.Stderr, "bench: interrupted")
	b.cleanup()
	os.Exit(130)
}
