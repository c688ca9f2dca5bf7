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

// primReply is a client process's answer to a "prim" command: what the
// row produced, or why it could not run.
type primReply struct {
	result
	Err string `json:"err,omitempty"`
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
	reply := primReply{result: r}
	if err != nil {
		reply = primReply{Err: err.Error()}
	}
	l.reply("result", reply)
	return nil
}

// runPrim runs one row on t.
func runPrim(t primTarget, run primRun) (result, error) {
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

// runLoop runs a closed-loop row: run.Clients callers, each making one
// operation after another.
func runLoop(ctx context.Context, t primTarget, run primRun) (result, error) {
	calls := make([]primCall, run.Clients)
	for i := range calls {
		call, release, err := t.caller(ctx, run, i)
		if err != nil {
			return result{}, err
		}
		defer release()
		calls[i] = call
	}
	from, end := window(run.StartAt, run.Warmup, run.Duration)
	parts := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		r := rand.New(rand.NewPCG(run.Seed, uint64(i)))
		wg.Go(func() { parts[i] = loopCalls(ctx, call, r, from, end) })
	}
	wg.Wait()
	total := mergeAll(parts)
	total.Elapsed = max(end.Sub(from), 0)
	return total, nil
}

// loopCalls calls until end, recording the calls that start at or after
// from.
func loopCalls(ctx context.Context, call primCall, r *rand.Rand, from, end time.Time) result {
	res := result{Lat: newHist()}
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

// runQueue runs the queue row: one producer and run.Clients consumers.
// The producer stops when run.Backlog items wait, so that an item's time
// from push to take is not the length of a growing queue.
func runQueue(ctx context.Context, t primTarget, run primRun) (result, error) {
	q, err := t.queue(ctx, run.Clients)
	if err != nil {
		return result{}, err
	}
	from, end := window(run.StartAt, run.Warmup, run.Duration)
	qctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	credits := make(chan struct{}, run.Backlog)
	parts := make([]result, run.Clients+1)
	var wg sync.WaitGroup
	wg.Go(func() { parts[0] = produce(qctx, q, credits) })
	for c := range run.Clients {
		wg.Go(func() { parts[c+1] = consume(qctx, q, c, credits, from, end) })
	}
	wg.Wait()
	total := mergeAll(parts)
	total.Elapsed = max(end.Sub(from), 0)
	return total, nil
}

// produce pushes 16-byte items, the push time and a sequence number,
// while it has credits, until ctx ends.
func produce(ctx context.Context, q queueSide, credits chan struct{}) result {
	res := result{Lat: newHist()}
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
func consume(ctx context.Context, q queueSide, consumer int, credits chan struct{}, from, end time.Time) result {
	res := result{Lat: newHist()}
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
