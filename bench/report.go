package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// cell is one measured combination of a suite: a target (the store in a
// durability mode, or Redis with an fsync policy) at a number of writers,
// run once per -count.
type cell struct {
	target  string // e.g. "cyberdb always", "redis always"
	writers int
	reps    []result
	err     error
}

// rate returns the median throughput over the repetitions.
func (c *cell) rate() float64 {
	return medianOf(c.reps, result.opsPerSec)
}

// allocs returns the median heap allocations per operation over the
// repetitions.
func (c *cell) allocs() float64 {
	return medianOf(c.reps, allocsPerOp)
}

// medianOf returns the median of f over rs, 0 when rs is empty.
func medianOf(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2
	}
	return vs[len(vs)/2]
}

// total merges the repetitions: every latency and error.
func (c *cell) total() result {
	return mergeAll(c.reps)
}

// ok reports whether the cell has figures to show.
func (c *cell) ok() bool { return c.err == nil && c.rate() > 0 }

// cellRow formats a cell for the durability table; base is the Redis
// cell the ratio column compares against (nil: no ratio).
func cellRow(c *cell, base *cell) string {
	if c.err != nil {
		return fmt.Sprintf("%s\t%d\tfailed: %v\t\t\t\t", c.target, c.writers, c.err)
	}
	ratio := "-"
	if base != nil && base.ok() {
		ratio = fmt.Sprintf("%.2fx", c.rate()/base.rate())
	}
	t := c.total()
	errs := ""
	if t.Errors > 0 {
		errs = fmt.Sprintf("%d (%s)", t.Errors, t.FirstErr)
	}
	return fmt.Sprintf("%s\t%d\t%s\t%s\t%s\t%s\t%s", c.target, c.writers, fmtRate(c.rate()),
		fmtDur(t.Lat.quantile(0.50)), fmtDur(t.Lat.quantile(0.99)), ratio, errs)
}

// table writes rows of tab-separated columns under a header: the first
// column aligned left, the others right.
func table(w io.Writer, header string, rows []string) {
	tableLeft(w, 1, false, header, rows)
}

// tableLeft writes rows of tab-separated columns under a header: the
// first left columns aligned left, the others right, except that with
// notes the last column is free text after the aligned ones.
func tableLeft(w io.Writer, left int, notes bool, header string, rows []string) {
	lines := make([][]string, 0, len(rows)+1)
	widths := make([]int, left)
	for _, l := range append([]string{header}, rows...) {
		f := strings.SplitN(l, "\t", left+1)
		for i := range min(left, len(f)) {
			widths[i] = max(widths[i], utf8.RuneCountInString(f[i]))
		}
		lines = append(lines, f)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, f := range lines {
		var sb strings.Builder
		for i := range min(left, len(f)) {
			if i > 0 {
				sb.WriteString("  ")
			}
			sb.WriteString(f[i] + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(f[i])))
		}
		rest, note := "", ""
		if len(f) > left {
			rest = f[left]
		}
		if i := strings.LastIndexByte(rest, '\t'); notes && i >= 0 {
			rest, note = rest[:i], "  "+rest[i+1:]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", sb.String(), rest, note)
	}
	tw.Flush()
}

// fmtRate formats an operation rate.
func fmtRate(perSec float64) string {
	switch {
	case perSec >= 1e6:
		return fmt.Sprintf("%.2fM", perSec/1e6)
	case perSec >= 1e4:
		return fmt.Sprintf("%.1fk", perSec/1e3)
	}
	return fmt.Sprintf("%.0f", perSec)
}

// fmtDur formats a latency with three significant digits or so.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d >= 10*time.Microsecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d >= time.Microsecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	}
	return fmt.Sprintf("%dns", d.Nanoseconds())
}

// gobench writes results as testing.B output lines, which benchstat
// compares across runs and branches.
type gobench struct {
	w     *bufio.Writer
	close func() error
}

// openGobench opens the -gobench-output destination; "" means none and
// "-" means stdout.
func openGobench(path string, stdout io.Writer) (*gobench, error) {
	var w io.Writer
	closer := func() error { return nil }
	switch path {
	case "":
		return nil, nil
	case "-":
		w = stdout
	default:
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("bench: -gobench-output: %w", err)
		}
		w, closer = f, f.Close
	}
	g := &gobench{w: bufio.NewWriter(w)}
	g.close = func() error { return firstErr(g.w.Flush(), closer()) }
	fmt.Fprintf(g.w, "goos: %s\ngoarch: %s\npkg: github.com/cyberdb-go/cyberdb/bench\n", runtime.GOOS, runtime.GOARCH)
	return g, nil
}

// line writes one benchmark line: name (sub-benchmarks separated by /),
// iterations, and value-unit pairs.
func (g *gobench) line(name string, n int64, metrics ...metric) {
	if g == nil {
		return
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Benchmark%s-%d\t%d", name, runtime.GOMAXPROCS(0), n)
	for _, m := range metrics {
		fmt.Fprintf(&sb, "\t%s %s", strconv.FormatFloat(m.value, 'f', decimals(m.value), 64), m.unit)
	}
	fmt.Fprintln(g.w, sb.String())
}

// rep writes the line of one run of a throughput cell.
func (g *gobench) rep(suite, target string, writers int, r result) {
	if r.Ops == 0 {
		return
	}
	name := fmt.Sprintf("%s/target=%s/writers=%d", suite, strings.ReplaceAll(target, " ", "-"), writers)
	g.line(name, r.Ops,
		metric{float64(r.Elapsed.Nanoseconds()) / float64(r.Ops), "ns/op"},
		metric{r.opsPerSec(), "ops/s"},
		metric{float64(r.Lat.quantile(0.50).Nanoseconds()), "p50-ns"},
		metric{float64(r.Lat.quantile(0.99).Nanoseconds()), "p99-ns"})
}

// opsRep writes the line of one run of an ops cell on one column.
func (g *gobench) opsRep(c opsCell, column string, r result) {
	if r.Ops == 0 {
		return
	}
	g.line(c.benchName()+"/target="+column, r.Ops,
		metric{float64(r.Elapsed.Nanoseconds()) / float64(r.Ops), "ns/op"},
		metric{r.opsPerSec(), "ops/s"},
		metric{float64(r.Lat.quantile(0.50).Nanoseconds()), "p50-ns"},
		metric{float64(r.Lat.quantile(0.99).Nanoseconds()), "p99-ns"},
		metric{allocsPerOp(r), "allocs/op"})
}

// closeOut flushes and closes the output; a nil gobench does nothing.
func (g *gobench) closeOut() error {
	if g == nil {
		return nil
	}
	return g.close()
}

// decimals returns how many decimals to print of a metric: a few for
// small values, none for large ones.
func decimals(v float64) int {
	switch {
	case v >= 1000:
		return 0
	case v >= 10:
		return 1
	}
	return 3
}

// metric is one value-unit pair of a benchmark line.
type metric struct {
	value float64
	unit  string
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
