package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// primTTL is the time to live of the ttl and incr-ttl rows' keys: longer
// than a run, so that no key expires while the suite measures.
const primTTL = 10 * time.Minute

// primLease is the lease of the lock row's locks.
const primLease = 30 * time.Second

// The store's tables of the primitives suite.
const (
	primWatchTable = "prim-watch"
	primQueueList  = "prim-queue"
)

// storePrim runs the primitives suite's rows on a client of the store.
type storePrim struct {
	db *cyberdb.DB
}

// caller returns worker's operation for the closed-loop row run.Kind.
func (s *storePrim) caller(ctx context.Context, run primRun, worker int) (primCall, func(), error) {
	value := randomValue(16, run.Seed+uint64(worker))
	none := func() {}
	if run.Kind == "lock" {
		name := fmt.Sprintf("prim-%d-%d", run.Seed, worker)
		return func(ctx context.Context, _ *rand.Rand) (int, error) {
			lk, err := s.db.TryLock(ctx, name, primLease)
			if err != nil {
				return 0, err
			}
			return 0, lk.Unlock(ctx)
		}, none, nil
	}
	d, err := s.db.EnsureDict(ctx, "prim-"+run.Kind)
	if err != nil {
		return nil, nil, err
	}
	keys := keyNames(run.Keys)
	switch run.Kind {
	case "ttl-set":
		return func(ctx context.Context, r *rand.Rand) (int, error) {
			return 0, d.SetTTL(ctx, keys[r.IntN(len(keys))], value, primTTL)
		}, none, nil
	case "incr-ttl":
		return func(ctx context.Context, r *rand.Rand) (int, error) {
			_, err := d.IncrWithTTL(ctx, keys[r.IntN(len(keys))], 1, primTTL)
			return 0, err
		}, none, nil
	case "txn":
		return s.txn(d, run.TxnKeys, value), none, nil
	}
	return nil, nil, fmt.Errorf("unknown row %q", run.Kind)
}

// txn returns the txn row's operation: read key a and its version, then
// commit a transaction that checks the version and sets a and b, again
// while it loses to a conflict.
func (s *storePrim) txn(d *cyberdb.Dict, keys int, value []byte) primCall {
	a, b := prefixedKeys("a", keys), prefixedKeys("b", keys)
	var buf []byte
	return func(ctx context.Context, r *rand.Rand) (int, error) {
		i := r.IntN(keys)
		for retries := range maxRetries {
			ver, _, err := d.GetVersion(ctx, a[i], &buf)
			if err != nil {
				return retries, err
			}
			tx := s.db.Txn()
			tx.CheckVersion(d, a[i], ver)
			tx.Set(d, a[i], value)
			tx.Set(d, b[i], value)
			if err := tx.Commit(ctx); !errors.Is(err, cyberdb.ErrConflict) {
				return retries, err
			}
		}
		return maxRetries, fmt.Errorf("transaction lost %d times", maxRetries)
	}
}

// storeQueue is the queue row's lists in the store.
type storeQueue struct {
	q        *cyberdb.List
	inflight []*cyberdb.List // by consumer
}

// queue returns the queue and the consumers' in-flight lists, emptied.
func (s *storePrim) queue(ctx context.Context, consumers int) (queueSide, error) {
	q := &storeQueue{}
	for i := -1; i < consumers; i++ {
		name := primQueueList
		if i >= 0 {
			name = fmt.Sprintf("prim-inflight-%d", i)
		}
		l, err := s.db.EnsureList(ctx, name)
		if err == nil {
			err = l.Clear(ctx)
		}
		if err != nil {
			return nil, err
		}
		if i < 0 {
			q.q = l
		} else {
			q.inflight = append(q.inflight, l)
		}
	}
	return q, nil
}

func (q *storeQueue) push(ctx context.Context, v []byte) error { return q.q.Append(ctx, v) }

func (q *storeQueue) take(ctx context.Context, consumer int, dst *[]byte) (bool, error) {
	if err := q.q.MoveWait(ctx, q.inflight[consumer], cyberdb.Front, cyberdb.Back, dst); err != nil {
		return false, err
	}
	return true, nil
}

// storeWatch writes to and watches one dict.
type storeWatch struct {
	db    *cyberdb.DB
	d     *cyberdb.Dict
	value []byte
}

// watched returns the writer and watcher of the dict "prim-watch".
func (s *storePrim) watched(ctx context.Context) (watchSide, func(), error) {
	d, err := s.db.EnsureDict(ctx, primWatchTable)
	if err != nil {
		return nil, nil, err
	}
	return &storeWatch{db: s.db, d: d, value: randomValue(16, 1)}, func() {}, nil
}

func (w *storeWatch) write(ctx context.Context, key string) error {
	return w.d.Set(ctx, key, w.value)
}

func (w *storeWatch) watch(ctx context.Context, seen func(key string)) error {
	for ev, err := range w.db.Watch(ctx, primWatchTable, nil) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if ev.Type == cyberdb.EventSet {
			seen(ev.Key)
		}
	}
	return nil
}
