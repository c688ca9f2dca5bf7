package main

import (
	"fmt"
	"strings"
)

// retryNote formats the retries per operation of a result, if any.
func retryNote(r result) string {
	if r.Retries == 0 || r.Ops == 0 {
		return ""
	}
	return fmt.Sprintf("%d retries (%.3f/op)", r.Retries, float64(r.Retries)/float64(r.Ops))
}

// primRep writes the line of one run of a row on a column.
func (g *gobench) primRep(row primRow, column string, r result) {
	if r.Ops == 0 {
		return
	}
	g.line(fmt.Sprintf("Primitives/row=%s/clients=%s/target=%s", row.kind.name, row.callers(), column), r.Ops,
		metric{float64(r.Elapsed.Nanoseconds()) / float64(r.Ops), "ns/op"},
		metric{r.opsPerSec(), "ops/s"},
		metric{float64(r.Lat.quantile(0.50).Nanoseconds()), "p50-ns"},
		metric{float64(r.Lat.quantile(0.99).Nanoseconds()), "p99-ns"},
		metric{float64(r.Retries) / float64(r.Ops), "retries/op"})
}

// primTable prints the suite's table, the store and Redis side by side,
// and what each row measures.
func (b *bench) primTable(rows []primRow, cells map[primRow]map[string]*cell) {
	var lines []string
	for _, row := range rows {
		s, r := cells[row][primStore], cells[row][primRedis]
		line := row.kind.name + "\t" + row.callers() + "\t" + primFigures(s) + "\t" + primFigures(r) + "\t" + ratio(s, r)
		lines = append(lines, line+"\t"+strings.Join(primNotes(s, r), "; "))
	}
	fmt.Fprintln(b.out)
	tableLeft(b.out, 2, true, "row\tclients\tcyberdb ops/s\tp50\tp99\tredis ops/s\tp50\tp99\tcyberdb/redis\tnotes", lines)
	fmt.Fprintln(b.out, "\nops are: ttl-set, incr-ttl, lock: calls (lock: a lock and an unlock); txn: committed transactions;")
	fmt.Fprintln(b.out, "queue: items taken (p50/p99 from the push call's start to the take); watch-latency: write-then-event")
	fmt.Fprintln(b.out, "round trips (p50/p99 from the write call's start to the event's arrival); watch-rate: events seen per")
	fmt.Fprintln(b.out, "second (p50/p99 the same lag, under load). clients: callers; 1p+4c one producer, four consumers; 1w+1 one writer, one watcher.")
	described := map[string]bool{}
	for _, row := range rows {
		if described[row.kind.name] {
			continue
		}
		described[row.kind.name] = true
		fmt.Fprintf(b.out, "  %-13s cyberdb: %s\n  %-13s redis:   %s\n", row.kind.name, row.kind.store, "", row.kind.redis)
	}
}

// primFigures formats a cell's ops/s, p50 and p99, or why it has none.
func primFigures(c *cell) string {
	switch {
	case c == nil:
		return "-\t-\t-"
	case c.err != nil:
		return "failed\t-\t-"
	}
	t := c.total()
	return fmt.Sprintf("%s\t%s\t%s", fmtRate(c.rate()), fmtDur(t.Lat.quantile(0.5)), fmtDur(t.Lat.quantile(0.99)))
}

// primNotes lists a row's retries, errors and failures.
func primNotes(cs ...*cell) []string {
	var notes []string
	for i, c := range cs {
		name := []string{primStore, primRedis}[i]
		if c == nil {
			continue
		}
		if c.err != nil {
			notes = append(notes, fmt.Sprintf("%s failed: %.80s", name, c.err))
			continue
		}
		t := c.total()
		if t.Retries > 0 && t.Ops > 0 {
			notes = append(notes, fmt.Sprintf("%s %.3f retries/op", name, float64(t.Retries)/float64(t.Ops)))
		}
		if t.Errors > 0 {
			notes = append(notes, fmt.Sprintf("%s %d errors (%.60s)", name, t.Errors, t.FirstErr))
		}
	}
	return notes
}
