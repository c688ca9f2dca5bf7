package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// workloadAbout describes each workload above its table.
var workloadAbout = map[string]string{
	"get":  "get: Dict.Get / GET of a preloaded key",
	"set":  "set: Dict.Set / SET of a preloaded key",
	"incr": "incr: Dict.Incr / INCR (keys created at first use)",
	"list": "list: List.Append then List.Pop(-1) / RPUSH then RPOP on one list, each a call",
	"mix":  "mix: 90% get, 10% set",
}

// opsHeaderRow is the header of every workload's table.
const opsHeaderRow = "cell\tcolumn\tops/s\tp50\tp99\tp50/op\tallocs/op\tvs redis\tvs echo\tgoal"

// singleProcess reports whether a column runs every goroutine of a cell
// in one process.
func singleProcess(column string) bool { return column == colLocal || column == colMap }

// opsTables prints one table per workload, then the README's targets.
func (b *bench) opsTables(cells []opsCell, cols []*opsColumn, res opsResults) {
	var names []string
	for _, col := range cols {
		names = append(names, col.name)
	}
	for _, w := range opsWorkloads {
		var rows []string
		for _, c := range tableOrder(cells) {
			if c.Workload == w {
				rows = append(rows, opsRows(c, names, res[c])...)
			}
		}
		if len(rows) > 0 {
			fmt.Fprintf(b.out, "\n### %s\n", workloadAbout[w])
			tableLeft(b.out, 2, true, opsHeaderRow, rows)
		}
	}
	fmt.Fprintf(b.out, "\n* %s and %s run procs×goroutines in one process. p50/op is a batch's p50 divided by its size.\n", colLocal, colMap)
	printGoals(b.out, checkGoals(cells, res))
}

// opsRows formats one cell's rows, one per column, the cell's label on
// the first only.
func opsRows(c opsCell, names []string, by map[string]*cell) []string {
	var rows []string
	label := c.label()
	for _, name := range names {
		if by[name] == nil {
			continue
		}
		rows = append(rows, label+"\t"+opsRow(c, name, by))
		label = ""
	}
	return rows
}

// opsRow formats the figures of column name in cell c, after the label.
func opsRow(c opsCell, name string, by map[string]*cell) string {
	cl := by[name]
	shown := name
	if c.Procs > 1 && singleProcess(name) {
		shown += "*"
	}
	if cl.err != nil {
		return fmt.Sprintf("%s\tfailed: %.60s\t\t\t\t\t\t\t", shown, cl.err)
	}
	t := cl.total()
	p50 := t.Lat.quantile(0.5)
	perOp := "-"
	if c.Batch > 1 {
		perOp = fmtDur(p50 / time.Duration(c.Batch))
	}
	notes := goalNotes(c, name, by)
	if t.Errors > 0 {
		notes = append(notes, fmt.Sprintf("%d errors (%.40s)", t.Errors, t.FirstErr))
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s", shown, fmtRate(cl.rate()), fmtDur(p50),
		fmtDur(t.Lat.quantile(0.99)), perOp, cl.allocs(), ratio(cl, by[colRedis]), ratio(cl, by[colEcho]), strings.Join(notes, "; "))
}

// ratio formats a's throughput over base's, "-" when either is missing.
func ratio(a, base *cell) string {
	if a == nil || base == nil || !a.ok() || !base.ok() {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a.rate()/base.rate())
}

// opsGoal is one of the README's targets for the ops suite, judged on
// one column of the cells it applies to.
type opsGoal struct {
	about   string // as the summary prints it
	column  string
	applies func(c opsCell) bool
	// check returns whether the goal is met, the figures behind it, and
	// false for known when a figure is missing.
	check func(by map[string]*cell) (ok bool, detail string, known bool)
}

// opsGoals lists the targets the README compares against.
var opsGoals = []opsGoal{
	{"p50 < redis", colClient, isCell("get", 16, 1, 1), p50Within(colClient, colRedis, 1, false)},
	{"p50 <= 2x raw-echo", colClient, isCell("get", 16, 1, 1), p50Within(colClient, colEcho, 2, true)},
	{">= 3x redis", colClient, isCell("mix", 16, 1, 64), rateAtLeast(colClient, colRedis, 3)},
	{">= 2x redis", colClient, isCell("mix", 16, 4, 16), rateAtLeast(colClient, colRedis, 2)},
	{">= redis pipelined", colClient, func(c opsCell) bool { return c.Batch > 1 }, rateAtLeast(colClient, colRedis, 1)},
	{">= 0.5x rwmutex-map", colLocal, func(opsCell) bool { return true }, rateAtLeast(colLocal, colMap, 0.5)},
	{"<= 2 allocs/op", colClient, func(c opsCell) bool { return c.Workload == "get" && c.ValueSize == 16 && c.Batch == 1 }, allocsAtMost(colClient, 2)},
}

// isCell returns a predicate matching one unbatched configuration.
func isCell(workload string, size, procs, goroutines int) func(opsCell) bool {
	want := opsCell{Workload: workload, ValueSize: size, Procs: procs, Goroutines: goroutines, Batch: 1}
	return func(c opsCell) bool { return c == want }
}

// p50Within checks that col's p50 is below factor times base's, or at
// most that with orEqual.
func p50Within(col, base string, factor float64, orEqual bool) func(map[string]*cell) (bool, string, bool) {
	return func(by map[string]*cell) (bool, string, bool) {
		a, b := by[col], by[base]
		if a == nil || b == nil || !a.ok() || !b.ok() {
			return false, "", false
		}
		pa, pb := a.total().Lat.quantile(0.5), b.total().Lat.quantile(0.5)
		limit := time.Duration(factor * float64(pb))
		ok := pa < limit || orEqual && pa == limit
		return ok, fmt.Sprintf("p50 %s vs %s %s", fmtDur(pa), base, fmtDur(pb)), true
	}
}

// rateAtLeast checks that col's throughput is at least factor times
// base's.
func rateAtLeast(col, base string, factor float64) func(map[string]*cell) (bool, string, bool) {
	return func(by map[string]*cell) (bool, string, bool) {
		a, b := by[col], by[base]
		if a == nil || b == nil || !a.ok() || !b.ok() {
			return false, "", false
		}
		r := a.rate() / b.rate()
		return r >= factor, fmt.Sprintf("%.2fx %s", r, base), true
	}
}

// allocsAtMost checks col's allocations per operation.
func allocsAtMost(col string, n float64) func(map[string]*cell) (bool, string, bool) {
	return func(by map[string]*cell) (bool, string, bool) {
		a := by[col]
		if a == nil || !a.ok() {
			return false, "", false
		}
		return a.allocs() <= n, fmt.Sprintf("%.1f allocs/op", a.allocs()), true
	}
}

// goalNotes returns the verdicts of the goals that apply to column name
// in cell c, for the table's last column.
func goalNotes(c opsCell, name string, by map[string]*cell) []string {
	var notes []string
	for _, g := range opsGoals {
		if g.column == name && g.applies(c) {
			ok, _, known := g.check(by)
			notes = append(notes, g.about+": "+verdictOf(ok, known))
		}
	}
	return notes
}

// verdictOf names a goal's outcome.
func verdictOf(ok, known bool) string {
	switch {
	case !known:
		return "n/a"
	case ok:
		return "met"
	}
	return "MISSED"
}

// goalResult is one goal judged on one cell.
type goalResult struct {
	cell   opsCell
	goal   opsGoal
	ok     bool
	detail string
	known  bool
}

// checkGoals judges every goal on every cell it applies to.
func checkGoals(cells []opsCell, res opsResults) []goalResult {
	var out []goalResult
	for _, g := range opsGoals {
		for _, c := range tableOrder(cells) {
			if g.applies(c) && res[c] != nil {
				ok, detail, known := g.check(res[c])
				out = append(out, goalResult{c, g, ok, detail, known})
			}
		}
	}
	return out
}

// printGoals prints the targets' summary table.
func printGoals(w io.Writer, rs []goalResult) {
	if len(rs) == 0 {
		return
	}
	var rows []string
	met := 0
	for _, r := range rs {
		met += btoi(r.ok && r.known)
		rows = append(rows, fmt.Sprintf("%s %s\t%s\t%s\t%s\t%s", r.cell.Workload, r.cell.label(), r.goal.column,
			r.goal.about, r.detail, verdictOf(r.ok, r.known)))
	}
	fmt.Fprintf(w, "\n### targets: %d of %d met\n", met, len(rs))
	tableLeft(w, 4, true, "cell\tcolumn\ttarget\tmeasured\tverdict", rows)
}
