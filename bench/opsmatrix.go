package main

import (
	"cmp"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// opsWorkloads lists the ops suite's workloads in the order of its tables.
var opsWorkloads = []string{"get", "set", "incr", "list", "mix"}

// Column names of the ops suite, in the order of its rows.
const (
	colClient = "store-client"
	colLocal  = "store-local"
	colRedis  = "redis"
	colEcho   = "raw-echo"
	colMap    = "rwmutex-map"
)

// opsColumns lists every column of the ops suite.
var opsColumns = []string{colClient, colLocal, colRedis, colEcho, colMap}

// opsMatrixFlags name the flags that replace the default matrix by the
// cross product of the lists.
var opsMatrixFlags = []string{"full", "workloads", "sizes", "goroutines", "procs", "batch"}

// opsConfig holds the ops suite's flags.
type opsConfig struct {
	workloads  []string
	sizes      []int // value sizes in bytes
	goroutines []int // per process
	procs      []int
	batches    []int // operations per call; 1 is unbatched
	columns    []string
	full       bool
	explicit   bool    // a matrix flag was given: run the cross product of the lists
	zipf       float64 // exponent of the key distribution; 0 is uniform
	mode       string  // the store's Durability mode
	redisFsync string  // Redis appendfsync policy, or off for no AOF
	warmup     time.Duration
	duration   time.Duration
}

// flags registers the ops suite's flags and returns the function that
// parses its lists after fs.Parse.
func (o *opsConfig) flags(fs *flag.FlagSet) func() error {
	workloads := fs.String("workloads", strings.Join(opsWorkloads, ","), "ops suite: workloads (list is Append then Pop(-1); mix is 90% get, 10% set)")
	sizes := fs.String("sizes", "16,256,4KiB", "ops suite: value sizes in bytes (suffix k or KiB for 1024)")
	goroutines := fs.String("goroutines", "1,16,64", "ops suite: goroutines per calling process")
	procs := fs.String("procs", "1,4", "ops suite: calling processes (store-local and rwmutex-map run procs×goroutines in one)")
	batches := fs.String("batch", "1,16", "ops suite: operations per call; above 1 uses Batch, Redis pipelining, pipelined echo")
	columns := fs.String("targets", strings.Join(opsColumns, ","), "ops suite: columns to measure")
	fs.BoolVar(&o.full, "full", false, "ops suite: the cross product of -workloads, -sizes, -goroutines, -procs and -batch (implied by any of them) instead of the default subset")
	fs.Float64Var(&o.zipf, "zipf", 0, "ops suite: zipf exponent s > 1 of the key choice; 0 is uniform")
	fs.StringVar(&o.mode, "ops-mode", "interval", "ops and memory suites: Durability mode of the store")
	fs.StringVar(&o.redisFsync, "ops-redis-fsync", "everysec", "ops suite: Redis appendfsync policy, or off for no AOF")
	fs.DurationVar(&o.warmup, "ops-warmup", 100*time.Millisecond, "ops suite: unmeasured warm-up per cell")
	fs.DurationVar(&o.duration, "ops-duration", 300*time.Millisecond, "ops suite: measured time per cell")
	return func() error {
		var errs [5]error
		o.workloads, errs[0] = parseNames(*workloads, "workloads", opsWorkloads)
		o.columns, errs[1] = parseNames(*columns, "targets", opsColumns)
		o.sizes, errs[2] = parseSizes(*sizes)
		o.goroutines, errs[3] = parseInts(*goroutines, "goroutines")
		o.procs, errs[4] = parseInts(*procs, "procs")
		var err error
		o.batches, err = parseInts(*batches, "batch")
		return firstErr(append(errs[:], err)...)
	}
}

// validate checks the values parsing could not.
func (o *opsConfig) validate() error {
	switch {
	case o.zipf != 0 && o.zipf <= 1:
		return fmt.Errorf("bench: -zipf must be 0 (uniform) or above 1")
	case o.duration <= 0 || o.warmup < 0:
		return fmt.Errorf("bench: -ops-duration must be positive and -ops-warmup not negative")
	case !slices.Contains([]string{"always", "everysec", "no", "off"}, o.redisFsync):
		return fmt.Errorf("bench: -ops-redis-fsync %q: want always, everysec, no or off", o.redisFsync)
	}
	return nil
}

// parseNames parses a comma-separated list of names out of known.
func parseNames(list, flagName string, known []string) ([]string, error) {
	names := splitList(list)
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("bench: -%s: unknown %q (have %s)", flagName, n, strings.Join(known, ", "))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("bench: -%s is empty", flagName)
	}
	return names, nil
}

// parseSizes parses a comma-separated list of byte sizes: 16, 256, 4k,
// 4KiB.
func parseSizes(list string) ([]int, error) {
	var out []int
	for _, f := range splitList(list) {
		num, mult := f, 1
		for _, suffix := range []string{"KiB", "KB", "K", "k"} {
			if s, ok := strings.CutSuffix(f, suffix); ok {
				num, mult = s, 1024
				break
			}
		}
		n, err := strconv.Atoi(strings.TrimSuffix(num, "B"))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bench: -sizes: %q is not a size in bytes", f)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: -sizes is empty")
	}
	return out, nil
}

// opsCell is one configuration of the ops suite, measured on every column.
type opsCell struct {
	Workload   string `json:"workload"`
	ValueSize  int    `json:"value_size"`
	Procs      int    `json:"procs"`
	Goroutines int    `json:"goroutines"` // per process
	Batch      int    `json:"batch"`      // operations per call
}

// label names the cell in tables and progress lines, e.g. "16B 1p×64g"
// or "16B 1p×16g batch16".
func (c opsCell) label() string {
	s := fmt.Sprintf("%s %dp×%dg", fmtSize(c.ValueSize), c.Procs, c.Goroutines)
	if c.Batch > 1 {
		s += fmt.Sprintf(" batch%d", c.Batch)
	}
	return s
}

// benchName names the cell in testing.B-format output.
func (c opsCell) benchName() string {
	return fmt.Sprintf("Ops/workload=%s/size=%d/procs=%d/goroutines=%d/batch=%d",
		c.Workload, c.ValueSize, c.Procs, c.Goroutines, c.Batch)
}

// matrix returns the cells to measure: the default subset, or the cross
// product of the lists when any matrix flag was given.
func (o *opsConfig) matrix() []opsCell {
	if !o.explicit {
		return defaultMatrix()
	}
	var m []opsCell
	for _, w := range o.workloads {
		for _, b := range o.batches {
			for _, s := range o.sizes {
				for _, p := range o.procs {
					for _, g := range o.goroutines {
						m = append(m, opsCell{Workload: w, ValueSize: s, Procs: p, Goroutines: g, Batch: b})
					}
				}
			}
		}
	}
	return m
}

// defaultMatrix is the subset that runs in about a minute: every workload
// at 16 B on 1, 16 and 64 goroutines of one process; mix from 4 processes;
// get and set of larger values; and batches of 16 for get, set and mix.
func defaultMatrix() []opsCell {
	var m []opsCell
	for _, w := range opsWorkloads {
		for _, g := range []int{1, 16, 64} {
			m = append(m, opsCell{Workload: w, ValueSize: 16, Procs: 1, Goroutines: g, Batch: 1})
		}
	}
	m = append(m, opsCell{Workload: "mix", ValueSize: 16, Procs: 4, Goroutines: 16, Batch: 1})
	for _, w := range []string{"get", "set"} {
		for _, s := range []int{256, 4096} {
			m = append(m, opsCell{Workload: w, ValueSize: s, Procs: 1, Goroutines: 16, Batch: 1})
		}
	}
	for _, w := range []string{"get", "set", "mix"} {
		for _, g := range []int{1, 16} {
			m = append(m, opsCell{Workload: w, ValueSize: 16, Procs: 1, Goroutines: g, Batch: 16})
		}
	}
	return m
}

// bySize groups cells by value size, smallest first, keeping their order
// within a group: each group runs on its own preloaded key space.
func bySize(cells []opsCell) [][]opsCell {
	sizes := map[int][]opsCell{}
	for _, c := range cells {
		sizes[c.ValueSize] = append(sizes[c.ValueSize], c)
	}
	var groups [][]opsCell
	for _, s := range slices.Sorted(maps.Keys(sizes)) {
		groups = append(groups, sizes[s])
	}
	return groups
}

// tableOrder sorts cells for one workload's table: unbatched first, then
// by size, processes and goroutines.
func tableOrder(cells []opsCell) []opsCell {
	s := slices.Clone(cells)
	slices.SortStableFunc(s, func(a, b opsCell) int {
		return cmp.Or(cmp.Compare(a.Batch, b.Batch), cmp.Compare(a.ValueSize, b.ValueSize),
			cmp.Compare(a.Procs, b.Procs), cmp.Compare(a.Goroutines, b.Goroutines))
	})
	return s
}

// fmtSize formats a byte size: 16B, 4KiB.
func fmtSize(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// kvTable names the dict table (and Redis key prefix) holding the
// preloaded keys of one value size.
func kvTable(size int) string { return fmt.Sprintf("kv-%d", size) }
