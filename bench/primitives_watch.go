package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// startWatch starts w's watcher, which calls seen with every key written
// but the probe, and returns once it has seen a probe write, and so will
// see every later write, with the function that stops it.
func startWatch(ctx context.Context, w watchSide, seen func(key string)) (func(), error) {
	wctx, cancel := context.WithCancel(ctx)
	synced := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		done <- w.watch(wctx, func(key string) {
			if key == probeKey {
				once.Do(func() { close(synced) })
				return
			}
			seen(key)
		})
	}()
	stop := func() { cancel(); <-done }
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		if err := w.write(ctx, probeKey); err != nil {
			stop()
			return nil, err
		}
		select {
		case <-synced:
			return stop, nil
		case err := <-done:
			cancel()
			return nil, fmt.Errorf("the watch ended before it saw a write: %v", err)
		case <-timeout.C:
			stop()
			return nil, errors.New("the watch saw no write within 10s")
		case <-tick.C:
		}
	}
}

// delivery is a write as a watcher saw it.
type delivery struct {
	key string
	at  time.Time
}

// runWatchLatency writes a key, waits until the watcher sees it, and
// repeats: run.Writes measured writes after the warm-up. The latency is
// from the start of the write call to the watcher's receipt.
func runWatchLatency(ctx context.Context, t primTarget, run primRun) (result, error) {
	w, release, err := t.watched(ctx)
	if err != nil {
		return result{}, err
	}
	defer release()
	got := make(chan delivery, 1024)
	stop, err := startWatch(ctx, w, func(key string) {
		select {
		case got <- delivery{key, time.Now()}:
		default: // cannot happen with one write in flight; its wait times out
		}
	})
	if err != nil {
		return result{}, err
	}
	defer stop()
	from, _ := window(run.StartAt, run.Warmup, run.Duration)
	res := result{Lat: newHist()}
	start := time.Now()
	for res.Ops < int64(run.Writes) {
		t0 := time.Now()
		measured := !t0.Before(from)
		if measured && res.Ops == 0 {
			start = t0
		}
		key := strconv.FormatInt(t0.UnixNano(), 10)
		if err := w.write(ctx, key); err != nil {
			return result{}, err
		}
		at, err := await(got, key)
		if err != nil {
			return result{}, err
		}
		if measured {
			res.Ops++
			res.Lat.add(at.Sub(t0))
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// await waits up to 5 s for the delivery of key, skipping others.
func await(got <-chan delivery, key string) (time.Time, error) {
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case d := <-got:
			if d.key == key {
				return d.at, nil
			}
		case <-timeout.C:
			return time.Time{}, fmt.Errorf("write %s not seen by the watch within 5s", key)
		}
	}
}

// runWatchRate writes keys one after another for run.Duration while the
// watcher counts them: events delivered per second, end to end, and the
// time from each write call's start to its delivery. Each key is the
// Unix-ns start of its write.
func runWatchRate(ctx context.Context, t primTarget, run primRun) (result, error) {
	w, release, err := t.watched(ctx)
	if err != nil {
		return result{}, err
	}
	defer release()
	var lo, hi, last, want atomic.Int64 // the measured writes' start times; the last one seen; the last one written
	lo.Store(math.MaxInt64)
	want.Store(math.MaxInt64)
	caught := make(chan struct{}) // closed once the watcher has seen want
	var once sync.Once
	res := result{Lat: newHist()} // the watcher's, until it stops
	var lastAt time.Time
	stop, err := startWatch(ctx, w, func(key string) {
		t0, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return
		}
		now := time.Now()
		last.Store(t0)
		if t0 >= lo.Load() && t0 < hi.Load() {
			res.Ops++
			res.Lat.add(now.Sub(time.Unix(0, t0)))
			lastAt = now
		}
		if t0 >= want.Load() {
			once.Do(func() { close(caught) })
		}
	})
	if err != nil {
		return result{}, err
	}
	from, end := window(run.StartAt, run.Warmup, run.Duration)
	hi.Store(end.UnixNano())
	lo.Store(from.UnixNano())
	written, lastKey, err := writeUntil(ctx, w, from, end)
	if err != nil {
		stop()
		return result{}, err
	}
	// The watcher closes caught if it sees lastKey after this store, and
	// last tells whether it saw it before.
	want.Store(lastKey)
	if last.Load() < lastKey {
		timeout := time.NewTimer(10 * time.Second)
		select {
		case <-caught:
		case <-timeout.C:
		case <-ctx.Done():
		}
		timeout.Stop()
	}
	stop()
	if lost := written - res.Ops; lost > 0 {
		res.Errors += lost
		res.FirstErr = fmt.Sprintf("%d of %d writes not seen by the watch within 10s", lost, written)
	}
	if lastAt.After(end) {
		end = lastAt // the watch was still catching up
	}
	res.Elapsed = end.Sub(from)
	return res, nil
}

// writeUntil writes keys one after another until end and returns how many
// of them started at or after from and the last key written.
func writeUntil(ctx context.Context, w watchSide, from, end time.Time) (int64, int64, error) {
	var written, key int64
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			return written, key, nil
		}
		key = t0.UnixNano()
		if err := w.write(ctx, strconv.FormatInt(key, 10)); err != nil {
			return written, key, err
		}
		if !t0.Before(from) {
			written++
		}
	}
}
