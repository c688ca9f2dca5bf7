package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// errFailed reports that check found lost, duplicate or wrong results.
var errFailed = errors.New("workerpool: results do not match the jobs")

// report is what check found.
type report struct {
	jobs       int
	results    int
	missing    int // jobs without a result
	wrong      int // results with a wrong value
	extra      int // results for no job
	duplicates int // jobs done again: the count of jobs done less the results
	queued     int // jobs still in the queue
	inProgress int // jobs still in an in-progress list
	perWorker  map[int]int
}

// ok reports whether every job has exactly one correct result.
func (r *report) ok() bool {
	return r.missing == 0 && r.wrong == 0 && r.extra == 0 && r.duplicates == 0 &&
		r.queued == 0 && r.inProgress == 0
}

// check compares the stored results with the jobs.
func check(ctx context.Context, db *cyberdb.DB, jobs []job) (*report, error) {
	results, err := readResults(ctx, db)
	if err != nil {
		return nil, err
	}
	rep := &report{jobs: len(jobs), results: len(results), perWorker: map[int]int{}}
	for _, j := range jobs {
		r, ok := results[key(j.ID)]
		if !ok {
			rep.missing++
			continue
		}
		rep.perWorker[r.Worker]++
		if r.Square != j.N*j.N {
			rep.wrong++
		}
	}
	rep.extra = len(results) - (len(jobs) - rep.missing)
	return rep, rep.readCounts(ctx, db)
}

// readResults returns the whole results table.
func readResults(ctx context.Context, db *cyberdb.DB) (map[string]result, error) {
	d, err := db.Dict(ctx, resultsTable)
	if err != nil {
		return nil, err
	}
	return cyberdb.DictOf[result](d).ToMap(ctx)
}

// readCounts reads how many jobs were done, which is the number of
// results unless some were done twice, and how many are left in lists.
func (r *report) readCounts(ctx context.Context, db *cyberdb.DB) error {
	stats, err := db.Dict(ctx, statsTable)
	if err != nil {
		return err
	}
	var done int
	if _, err := stats.Get(ctx, doneKey, &done); err != nil {
		return err
	}
	r.duplicates = done - r.results
	if r.queued, err = listLen(ctx, db, jobsTable); err != nil {
		return err
	}
	tables, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if strings.HasPrefix(t.Name, inflightPrefix) {
			n, err := listLen(ctx, db, t.Name)
			if err != nil {
				return err
			}
			r.inProgress += n
		}
	}
	return nil
}

// listLen returns the length of the list name.
func listLen(ctx context.Context, db *cyberdb.DB, name string) (int, error) {
	l, err := db.List(ctx, name)
	if err != nil {
		return 0, err
	}
	return l.Len(ctx)
}

// print writes the summary.
func (r *report) print(w io.Writer, workers int, elapsed time.Duration) {
	fmt.Fprintf(w, "workerpool: %d jobs, %d workers, %v\n", r.jobs, workers, elapsed.Round(time.Millisecond))
	ids := slices.Sorted(maps.Keys(r.perWorker))
	for _, id := range ids {
		fmt.Fprintf(w, "  worker %d: %d jobs\n", id, r.perWorker[id])
	}
	verdict := "OK"
	if !r.ok() {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "workerpool: %s: %d results, %d missing, %d wrong, %d extra, %d duplicates, %d queued, %d in progress\n",
		verdict, r.results, r.missing, r.wrong, r.extra, r.duplicates, r.queued, r.inProgress)
}
