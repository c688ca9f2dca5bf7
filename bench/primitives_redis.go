package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The Redis keys and channels of the primitives suite.
const (
	redisQueue        = "prim-queue"
	redisWatchPrefix  = "watch:"
	redisWatchChannel = "__keyspace@0__:" + redisWatchPrefix
)

// errRedisLocked is the lock row's error when SET NX finds the key.
var errRedisLocked = errors.New("lock key already set")

// redisPrim runs the primitives suite's rows on a Redis server, with the
// commands closest to each store call.
type redisPrim struct {
	c *redis.Client
}

// caller returns worker's operation for the closed-loop row run.Kind.
func (p *redisPrim) caller(ctx context.Context, run primRun, worker int) (primCall, func(), error) {
	value := randomValue(16, run.Seed+uint64(worker))
	none := func() {}
	switch run.Kind {
	case "ttl-set":
		keys := prefixedKeys("ttl", run.Keys)
		return func(ctx context.Context, r *rand.Rand) (int, error) {
			return 0, p.c.Set(ctx, keys[r.IntN(len(keys))], value, primTTL).Err()
		}, none, nil
	case "incr-ttl":
		keys := prefixedKeys("incr-ttl", run.Keys)
		return func(ctx context.Context, r *rand.Rand) (int, error) {
			k := keys[r.IntN(len(keys))]
			_, err := p.c.TxPipelined(ctx, func(tx redis.Pipeliner) error {
				tx.Incr(ctx, k)
				tx.ExpireNX(ctx, k, primTTL)
				return nil
			})
			return 0, err
		}, none, nil
	case "txn":
		conn := p.c.Conn()
		return redisTxn(conn, run.TxnKeys, value), func() { conn.Close() }, nil
	case "lock":
		key := fmt.Sprintf("lock:%d-%d", run.Seed, worker)
		return func(ctx context.Context, _ *rand.Rand) (int, error) {
			ok, err := p.c.SetNX(ctx, key, value, primLease).Result()
			if err == nil && !ok {
				err = errRedisLocked
			}
			if err != nil {
				return 0, err
			}
			return 0, p.c.Del(ctx, key).Err()
		}, none, nil
	}
	return nil, nil, fmt.Errorf("unknown row %q", run.Kind)
}

// redisTxn returns the txn row's operation on one connection: WATCH and
// GET of key a in one round trip, then MULTI, SET a, SET b, EXEC in
// another, again while EXEC aborts because a changed.
func redisTxn(conn *redis.Conn, keys int, value []byte) primCall {
	a, b := prefixedKeys("txn:a", keys), prefixedKeys("txn:b", keys)
	return func(ctx context.Context, r *rand.Rand) (int, error) {
		i := r.IntN(keys)
		for retries := range maxRetries {
			var get *redis.StringCmd
			_, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Do(ctx, "watch", a[i])
				get = p.Get(ctx, a[i])
				return nil
			})
			if err = ignoreNil(err); err == nil {
				err = ignoreNil(get.Err())
			}
			if err != nil {
				return retries, err
			}
			_, err = conn.TxPipelined(ctx, func(tx redis.Pipeliner) error {
				tx.Set(ctx, a[i], value, 0)
				tx.Set(ctx, b[i], value, 0)
				return nil
			})
			if !errors.Is(err, redis.TxFailedErr) {
				return retries, err
			}
		}
		return maxRetries, fmt.Errorf("transaction lost %d times", maxRetries)
	}
}

// redisQueueSide is the queue row's lists in Redis.
type redisQueueSide struct {
	c        *redis.Client
	inflight []string // keys by consumer
}

// queue returns the queue and the consumers' in-flight lists, emptied.
func (p *redisPrim) queue(ctx context.Context, consumers int) (queueSide, error) {
	q := &redisQueueSide{c: p.c}
	for i := range consumers {
		q.inflight = append(q.inflight, fmt.Sprintf("prim-inflight:%d", i))
	}
	return q, p.c.Del(ctx, append([]string{redisQueue}, q.inflight...)...).Err()
}

func (q *redisQueueSide) push(ctx context.Context, v []byte) error {
	return q.c.LPush(ctx, redisQueue, v).Err()
}

// take waits up to 100 ms on the server, since go-redis does not end a
// blocked call with its context. It sends BLMOVE itself because go-redis
// rounds the timeout up to a second.
func (q *redisQueueSide) take(ctx context.Context, consumer int, dst *[]byte) (bool, error) {
	cmd := redis.NewStringCmd(ctx, "blmove", redisQueue, q.inflight[consumer], "RIGHT", "LEFT", "0.1")
	q.c.Process(ctx, cmd)
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	*dst = b
	return err == nil, err
}

// redisWatch writes keys "watch:…" and follows their keyspace
// notifications.
type redisWatch struct {
	c     *redis.Client
	value []byte
}

// watched turns keyspace notifications of string commands on
// (notify-keyspace-events K$, all that the watch's PSUBSCRIBE needs)
// until the returned function turns them off again, so that they cost
// nothing in the other rows.
func (p *redisPrim) watched(ctx context.Context) (watchSide, func(), error) {
	if err := p.c.ConfigSet(ctx, "notify-keyspace-events", "K$").Err(); err != nil {
		return nil, nil, err
	}
	off := func() { p.c.ConfigSet(context.Background(), "notify-keyspace-events", "") }
	return &redisWatch{c: p.c, value: randomValue(16, 1)}, off, nil
}

func (w *redisWatch) write(ctx context.Context, key string) error {
	return w.c.Set(ctx, redisWatchPrefix+key, w.value, 0).Err()
}

// watch subscribes to the pattern __keyspace@0__:watch:* on a connection
// of its own and reads its messages directly, without go-redis's
// forwarding goroutine.
func (w *redisWatch) watch(ctx context.Context, seen func(key string)) error {
	ps := w.c.PSubscribe(ctx, redisWatchChannel+"*")
	defer ps.Close()
	defer context.AfterFunc(ctx, func() { ps.Close() })()
	for {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if m.Payload == "set" {
			seen(strings.TrimPrefix(m.Channel, redisWatchChannel))
		}
	}
}
