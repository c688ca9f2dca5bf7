package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeCell returns a cell of one repetition: ops operations in a second,
// every call taking lat, with mallocs allocations.
func fakeCell(col string, ops int64, lat time.Duration, mallocs uint64) *cell {
	h := newHist()
	for range 100 {
		h.add(lat)
	}
	r := result{Ops: ops, Calls: ops, Elapsed: time.Second, Lat: h, Mallocs: mallocs}
	return &cell{target: col, writers: 1, reps: []result{r}}
}

func TestOpsGoals(t *testing.T) {
	by := map[string]*cell{
		colClient: fakeCell(colClient, 30_000, 40*time.Microsecond, 60_000),
		colRedis:  fakeCell(colRedis, 10_000, 50*time.Microsecond, 70_000),
		colEcho:   fakeCell(colEcho, 50_000, 19*time.Microsecond, 0),
		colLocal:  fakeCell(colLocal, 400_000, time.Microsecond, 0),
		colMap:    fakeCell(colMap, 1_000_000, time.Microsecond, 0),
	}
	tests := []struct {
		name      string
		check     func(map[string]*cell) (bool, string, bool)
		ok, known bool
		detail    string
	}{
		{"p50 below redis", p50Within(colClient, colRedis, 1, false), true, true, "p50 40µs vs redis 49µs"},
		{"p50 within 2x echo", p50Within(colClient, colEcho, 2, true), false, true, "p50 40µs vs raw-echo 19µs"},
		{"3x redis", rateAtLeast(colClient, colRedis, 3), true, true, "3.00x redis"},
		{"half the map", rateAtLeast(colLocal, colMap, 0.5), false, true, "0.40x rwmutex-map"},
		{"2 allocs", allocsAtMost(colClient, 2), true, true, "2.0 allocs/op"},
		{"missing column", rateAtLeast(colClient, "nope", 1), false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, detail, known := tt.check(by)
			if ok != tt.ok || known != tt.known || detail != tt.detail {
				t.Errorf("got %t %q %t, want %t %q %t", ok, detail, known, tt.ok, tt.detail, tt.known)
			}
		})
	}
}

func TestCheckGoals(t *testing.T) {
	get := opsCell{"get", 16, 1, 1, 1}
	batched := opsCell{"mix", 16, 1, 16, 16}
	res := opsResults{}
	res[get] = map[string]*cell{colClient: fakeCell(colClient, 10, time.Millisecond, 30), colRedis: fakeCell(colRedis, 10, time.Millisecond, 0)}
	res[batched] = map[string]*cell{colClient: fakeCell(colClient, 20, time.Millisecond, 0), colRedis: fakeCell(colRedis, 10, time.Millisecond, 0)}
	rs := checkGoals([]opsCell{batched, get}, res)
	var got []string
	for _, r := range rs {
		got = append(got, r.cell.Workload+" "+r.goal.about+" "+verdictOf(r.ok, r.known))
	}
	want := []string{
		"get p50 < redis MISSED",
		"get p50 <= 2x raw-echo n/a",
		"mix >= redis pipelined met",
		"get >= 0.5x rwmutex-map n/a",
		"mix >= 0.5x rwmutex-map n/a",
		"get <= 2 allocs/op MISSED",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checkGoals:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOpsRows(t *testing.T) {
	c := opsCell{"mix", 16, 4, 16, 16}
	by := map[string]*cell{
		colClient: fakeCell(colClient, 20_000, 160*time.Microsecond, 40_000),
		colMap:    fakeCell(colMap, 2_000_000, time.Microsecond, 0),
		colRedis:  fakeCell(colRedis, 10_000, time.Millisecond, 0),
		colEcho:   {target: colEcho, err: errors.New("boom")},
	}
	rows := opsRows(c, []string{colClient, colRedis, colEcho, colMap, colLocal}, by)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (no store-local results):\n%s", len(rows), strings.Join(rows, "\n"))
	}
	want := []string{
		"16B 4p×16g batch16\tstore-client\t20.0k\t160µs\t160µs\t10µs\t2.0\t2.00x\t-\t>= redis pipelined: met",
		"\tredis\t10.0k\t1.00ms\t1.00ms\t62µs\t0.0\t1.00x\t-\t",
		"\traw-echo\tfailed: boom\t\t\t\t\t\t\t",
		"\trwmutex-map*\t2.00M\t1.0µs\t1.0µs\t62ns\t0.0\t200.00x\t-\t",
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
}

func TestTableLeft(t *testing.T) {
	var buf bytes.Buffer
	tableLeft(&buf, 2, true, "a\tbb\tn\tnote", []string{"xyz\tq\t1234\tfine", "\tlonger\t5\t"})
	want := "  a    bb         n  note\n" +
		"  xyz  q       1234  fine\n" +
		"       longer     5  \n"
	if buf.String() != want {
		t.Errorf("tableLeft:\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestMedianOf(t *testing.T) {
	rs := []result{{Ops: 5, Elapsed: time.Second}, {Ops: 1, Elapsed: time.Second}, {Ops: 3, Elapsed: time.Second}}
	if got := medianOf(rs, result.opsPerSec); got != 3 {
		t.Errorf("odd median = %v, want 3", got)
	}
	if got := medianOf(rs[:2], result.opsPerSec); got != 3 {
		t.Errorf("even median = %v, want 3", got)
	}
	if got := medianOf(nil, result.opsPerSec); got != 0 {
		t.Errorf("empty median = %v", got)
	}
}
