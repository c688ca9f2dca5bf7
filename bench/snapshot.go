package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// snapshotTable is the dict table the snapshot suite fills and saves.
const snapshotTable = "snapshot"

// snapshotMsg asks the leader to run the snapshot suite's load: a writer
// and a reader on Table while it calls Save Saves times, Gap apart.
type snapshotMsg struct {
	Table     string        `json:"table"`
	Keys      int           `json:"keys"`
	ValueSize int           `json:"value_size"`
	Saves     int           `json:"saves"`
	Gap       time.Duration `json:"gap"`
	Path      string        `json:"path"`
}

// snapshotResult is what the leader measured.
type snapshotResult struct {
	Saves   []time.Duration `json:"saves"`
	Writer  pauseStats      `json:"writer"`
	Reader  pauseStats      `json:"reader"`
	Elapsed time.Duration   `json:"elapsed"`
}

// pauseStats records one caller's longest calls, during a Save and
// outside, and how many calls it made in each.
type pauseStats struct {
	MaxIn    time.Duration `json:"max_in"`
	MaxOut   time.Duration `json:"max_out"`
	CallsIn  int64         `json:"calls_in"`
	CallsOut int64         `json:"calls_out"`
	Errors   int64         `json:"errors"`
	FirstErr string        `json:"first_err,omitempty"`
}

// add records one call; in tells whether it overlapped a Save.
func (p *pauseStats) add(d time.Duration, in bool, err error) {
	switch {
	case err != nil:
		p.Errors++
		if p.FirstErr == "" {
			p.FirstErr = err.Error()
		}
	case in:
		p.CallsIn++
		p.MaxIn = max(p.MaxIn, d)
	default:
		p.CallsOut++
		p.MaxOut = max(p.MaxOut, d)
	}
}

// runSnapshot fills a store's leader with a large dict and measures Save
// and the pauses it causes to a writer and a reader in the same process.
func runSnapshot(b *bench) error {
	c := b.cfg.large
	fmt.Fprintf(b.out, "\n## snapshot: db.Save of %d keys of %d B (Durability %s) while one goroutine Sets and one Gets in a loop in the leader; %d saves, %v apart\n",
		c.snapshotKeys, c.snapshotValue, c.snapshotMode, c.snapshots, c.snapshotGap)
	dir, err := b.dir("snapshot-")
	if err != nil {
		return err
	}
	leader, err := b.startLeader(storeMsg{Dir: dir, Mode: c.snapshotMode, Profile: b.profile("snapshot-leader")})
	if err != nil {
		return err
	}
	defer leader.stop(5 * time.Minute)
	pm := preloadMsg{Table: snapshotTable, Keys: c.snapshotKeys, ValueSize: c.snapshotValue, Chunk: 10_000}
	if err := leader.call("preload", pm, 10*time.Minute, "preloaded", nil); err != nil {
		return err
	}
	m := snapshotMsg{Table: snapshotTable, Keys: c.snapshotKeys, ValueSize: c.snapshotValue,
		Saves: c.snapshots, Gap: c.snapshotGap, Path: filepath.Join(dir, "save.cdb")}
	var r snapshotResult
	if err := leader.call("snapshot", m, 30*time.Minute, "snapshotted", &r); err != nil {
		return err
	}
	b.snapshotReport(r)
	return nil
}

// snapshotLoad runs in the leader: a writer and a reader loop on the
// table while Save runs m.Saves times.
func snapshotLoad(db *cyberdb.DB, m snapshotMsg) (snapshotResult, error) {
	ctx := context.Background()
	d, err := db.Dict(ctx, m.Table)
	if err != nil {
		return snapshotResult{}, err
	}
	keys := keyNames(m.Keys)
	var value any = randomValue(m.ValueSize, 2)
	var epoch atomic.Int64 // odd while a Save runs
	var stop atomic.Bool
	var res snapshotResult
	var wg sync.WaitGroup
	wg.Go(func() {
		res.Writer = pauseLoop(&stop, &epoch, 1, func(r *rand.Rand) error {
			return d.Set(ctx, keys[r.IntN(len(keys))], value)
		})
	})
	wg.Go(func() {
		var buf []byte
		res.Reader = pauseLoop(&stop, &epoch, 2, func(r *rand.Rand) error {
			_, err := d.Get(ctx, keys[r.IntN(len(keys))], &buf)
			return err
		})
	})
	start := time.Now()
	res.Saves, err = saveLoop(ctx, db, m, &epoch)
	stop.Store(true)
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, err
}

// saveLoop calls Save m.Saves times, m.Gap apart and after a first m.Gap
// without one, keeping epoch odd while each runs.
func saveLoop(ctx context.Context, db *cyberdb.DB, m snapshotMsg, epoch *atomic.Int64) ([]time.Duration, error) {
	var saves []time.Duration
	time.Sleep(m.Gap)
	for range m.Saves {
		epoch.Add(1)
		t0 := time.Now()
		err := db.Save(ctx, m.Path)
		saves = append(saves, time.Since(t0))
		epoch.Add(1)
		if err != nil {
			return saves, err
		}
		time.Sleep(m.Gap)
	}
	return saves, nil
}

// pauseLoop calls call until stop, recording each call's latency as
// during a Save if epoch was odd or changed meanwhile.
func pauseLoop(stop *atomic.Bool, epoch *atomic.Int64, seed uint64, call func(*rand.Rand) error) pauseStats {
	r := rand.New(rand.NewPCG(seed, 0))
	var p pauseStats
	for !stop.Load() {
		e0 := epoch.Load()
		t0 := time.Now()
		err := call(r)
		d := time.Since(t0)
		p.add(d, e0%2 == 1 || epoch.Load() != e0, err)
	}
	return p
}

// snapshotReport prints the suite's figures and the headline checks.
func (b *bench) snapshotReport(r snapshotResult) {
	c := b.cfg.large
	in := time.Duration(0)
	for _, s := range r.Saves {
		in += s
		b.gob.line(fmt.Sprintf("Snapshot/keys=%d/value=%d", c.snapshotKeys, c.snapshotValue), 1, metric{float64(s), "ns/op"})
	}
	out := r.Elapsed - in
	p50, most := percentile(r.Saves, 0.5), slices.Max(append(r.Saves, 0))
	fmt.Fprintf(b.out, "\nSave of %d keys: p50 %s, max %s over %d calls\n", c.snapshotKeys, fmtDur(p50), fmtDur(most), len(r.Saves))
	rows := []string{pauseRow("writer (Set)", r.Writer, in, out), pauseRow("reader (Get)", r.Reader, in, out)}
	fmt.Fprintln(b.out)
	table(b.out, "caller\tlongest during Save\tlongest outside\tcalls/s during\tcalls/s outside\terrors", rows)
	pause := max(r.Writer.MaxIn, r.Reader.MaxIn)
	fmt.Fprintf(b.out, "\nsnapshot < 1s (target): max %s: %s; no pause > 10ms during Save (target): longest %s: %s\n",
		fmtDur(most), verdictOf(most < time.Second, len(r.Saves) > 0), fmtDur(pause), verdictOf(pause <= 10*time.Millisecond, true))
}

// pauseRow formats one caller's row.
func pauseRow(name string, p pauseStats, in, out time.Duration) string {
	errs := ""
	if p.Errors > 0 {
		errs = fmt.Sprintf("%d (%s)", p.Errors, p.FirstErr)
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", name, fmtDur(p.MaxIn), fmtDur(p.MaxOut),
		fmtRate(perSec(p.CallsIn, in)), fmtRate(perSec(p.CallsOut, out)), errs)
}

// perSec returns n per second of d, 0 for no time.
func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
