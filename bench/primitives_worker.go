package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// primRun asks a client process to run one row of the primitives suite
// on its target, from StartAt, measured after Warmup for Duration.
type primRun struct {
	Kind     string        `json:"kind"`
	Clients  int           `json:"clients"`  // callers of a closed-loop row; consumers of the queue
	Keys     int           `json:"keys"`     // key space of the ttl and incr-ttl rows
	TxnKeys  int           `json:"txn_keys"` // keys the txn row checks
	Backlog  int           `json:"backlog"`  // queue: most items pushed and not yet taken
	Writes   int           `json:"writes"`   // watch-latency: measured writes
	StartAt  int64         `json:"start_at"` // wall clock, Unix ns
	Warmup   time.Duration `json:"warmup"`
	Duration time.Duration `json:"duration"`
	Seed     uint64        `json:"seed"`
}

// primResult is what one row produced in one process.
type primResult struct {
	result
	Retries int64  `json:"retries"`       // attempts lost to a conflict and made again
	Err     string `json:"err,omitempty"` // why the row could not run
}

// newPrimResult returns an empty result.
func newPrimResult() primResult { return primResult{result: result{Lat: newHist()}} }

// fail counts a failed operation.
func (r *primResult) fail(err error) {
	r.Errors++
	if r.FirstErr == "" {
		r.FirstErr = err.Error()
	}
}

// add merges o, measured at the same time, into r.
func (r *primResult) add(o primResult) {
	r.merge(o.result)
	r.Retries += o.Retries
}

// primCall makes one operation of a closed-loop row and returns the
// attempts it lost to conflicts.
type primCall func(ctx context.Context, r *rand.Rand) (retries int, err error)

// primTarget is the target of a client process as the primitives suite
// uses it.
type primTarget interface {
	// caller returns worker's operation for a closed-loop row and the
	// function that releases what it holds.
	caller(ctx context.Context, run primRun, worker int) (primCall, func(), error)
	// queue returns the queue row's lists, emptied.
	queue(ctx context.Context, consumers int) (queueSide, error)
	// watched returns the watch rows' writer and watcher and the function
	// that releases them.
	watched(ctx context.Context) (watchSide, func(), error)
}

// queueSide is a queue with an in-flight list per consumer.
type queueSide interface {
	push(ctx context.Context, v []byte) error
	// take moves the oldest item into consumer's in-flight list and
	// decodes it into dst; false when none came within a short wait.
	take(ctx context.Context, consumer int, dst *[]byte) (bool, error)
}

// watchSide writes keys and watches the writes.
type watchSide interface {
	write(ctx context.Context, key string) error
	// watch calls seen with the key of each write, in order, until ctx
	// ends; it returns nil then.
	watch(ctx context.Context, seen func(key string)) error
}

// maxRetries bounds the attempts of one transaction.
const maxRetries = 1000

// probeKey is the key written until a new watch sees it.
const probeKey = "probe"

// servePrim runs a "prim" command on t. A row that fails is reported in
// its result, so that the process goes on to the next row.
func servePrim(l *link, t any, cmd envelope) error {
	var run primRun
	if err := decodeData(cmd, &run); err != nil {
		return err
	}
	var pt primTarget
	switch t := t.(type) {
	case *storeTarget:
		pt = &storePrim{db: t.db}
	case *redisTarget:
		pt = &redisPrim{c: t.c}
	default:
		return fmt.Errorf("this process cannot run primitives (%T)", t)
	}
	r, err := runPrim(pt, run)
	if err != nil {
		r = primResult{Err: err.Error()}
	}
	l.reply("result", r)
	return nil
}

// runPrim runs one row on t.
func runPrim(t primTarget, run primRun) (primResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), primTimeout(run))
	defer cancel()
	switch run.Kind {
	case "queue":
		return runQueue(ctx, t, run)
	case "watch-latency":
		return runWatchLatency(ctx, t, run)
	case "watch-rate":
		return runWatchRate(ctx, t, run)
	}
	return runLoop(ctx, t, run)
}

// primTimeout bounds a row, counting 20 ms for each watch-latency write.
func primTimeout(run primRun) time.Duration {
	return time.Until(time.Unix(0, run.StartAt)) + run.Warmup + run.Duration +
		time.Duration(run.Writes)*20*time.Millisecond + time.Minute
}

// window sleeps until the run starts and returns when it measures from
// and until.
func (run primRun) window() (from, end time.Time) {
	start := time.Unix(0, run.StartAt)
	from, end = start.Add(run.Warmup), start.Add(run.Warmup+run.Duration)
	time.Sleep(time.Until(start))
	if now := time.Now(); now.After(from) {
		from = now // preparing overran the warm-up
	}
	return from, end
}

// runLoop runs a closed-loop row: run.Clients callers, each making one
// operation after another.
func runLoop(ctx context.Context, t primTarget, run primRun) (primResult, error) {
	calls := make([]primCall, run.Clients)
	for i := range calls {
		call, release, err := t.caller(ctx, run, i)
		if err != nil {
			return primResult{}, err
		}
		defer release()
		calls[i] = call
	}
	from, end := run.window()
	parts := make([]primResult, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		r := rand.New(rand.NewPCG(run.Seed, uint64(i)))
		wg.Go(func() { parts[i] = loopCalls(ctx, call, r, from, end) })
	}
	wg.Wait()
	return sumPrim(parts, end.Sub(from)), nil
}

// loopCalls calls until end, recording the calls that start at or after
// from.
func loopCalls(ctx context.Context, call primCall, r *rand.Rand, from, end time.Time) primResult {
	res := newPrimResult()
	for {
		t0 := time.Now()
		if !t0.Before(end) {
			return res
		}
		retries, err := call(ctx, r)
		if t0.Before(from) {
			continue
		}
		res.Retries += int64(retries)
		if err != nil {
			res.fail(err)
			continue
		}
		res.Ops++
		res.Lat.add(time.Since(t0))
	}
}

// sumPrim merges the parts of a run measured over elapsed.
func sumPrim(parts []primResult, elapsed time.Duration) primResult {
	total := newPrimResult()
	for _, p := range parts {
		total.add(p)
	}
	total.Elapsed = max(elapsed, 0)
	return total
}

// runQueue runs the queue row: one producer and run.Clients consumers.
// The producer stops when run.Backlog items wait, so that an item's time
// from push to take is not the length of a growing queue.
func runQueue(ctx context.Context, t primTarget, run primRun) (primResult, error) {
	q, err := t.queue(ctx, run.Clients)
	if err != nil {
		return primResult{}, err
	}
	from, end := run.window()
	qctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	credits := make(chan struct{}, run.Backlog)
	parts := make([]primResult, run.Clients+1)
	var wg sync.WaitGroup
	wg.Go(func() { parts[0] = produce(qctx, q, credits) })
	for c := range run.Clients {
		wg.Go(func() { parts[c+1] = consume(qctx, q, c, credits, from, end) })
	}
	wg.Wait()
	return sumPrim(parts, end.Sub(from)), nil
}

// produce pushes 16-byte items, the push time and a sequence number,
// while it has credits, until ctx ends.
func produce(ctx context.Context, q queueSide, credits chan struct{}) primResult {
	res := newPrimResult()
	v := make([]byte, 16)
	for seq := uint64(0); ; seq++ {
		select {
		case credits <- struct{}{}:
		case <-ctx.Done():
			return res
		}
		binary.LittleEndian.PutUint64(v, uint64(time.Now().UnixNano()))
		binary.LittleEndian.PutUint64(v[8:], seq)
		if err := q.push(ctx, v); err != nil {
			if ctx.Err() != nil {
				return res
			}
			res.fail(err)
			release(credits)
		}
	}
}

// release returns a credit unless a consumer already took it back, for
// an item whose push failed yet was stored.
func release(credits chan struct{}) {
	select {
	case <-credits:
	default:
	}
}

// consume takes items until end, recording those taken from from on and
// the time since their push.
func consume(ctx context.Context, q queueSide, consumer int, credits chan struct{}, from, end time.Time) primResult {
	res := newPrimResult()
	var buf []byte
	for time.Now().Before(end) {
		ok, err := q.take(ctx, consumer, &buf)
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			res.fail(err)
			continue
		}
		if !ok {
			continue
		}
		release(credits)
		if now.Before(from) || !now.Before(end) || len(buf) < 8 {
			continue
		}
		res.Ops++
		res.Lat.add(now.Sub(time.Unix(0, int64(binary.LittleEndian.Uint64(buf)))))
	}
	return res
}
