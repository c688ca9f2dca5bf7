package cyberdb

import (
	"context"
	"fmt"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Keys of a dict may expire. A key's deadline is absolute (wall-clock
// time), so it survives a takeover; once it passes, the key is never
// returned and the leader removes it within milliseconds, which watches
// see as an EventExpire carrying the old value. Writes that replace a
// value (Set, SetMany, CompareAndSwap, GetAndSet, SetIfAbsent,
// SetDefault) give it the TTL they are called with, or else the dict's
// default TTL (SetDefaultTTL), or none; Incr and IncrFloat keep the
// deadline of the number they change.

// NoTTL is what Dict.TTL returns for a key without a deadline.
const NoTTL time.Duration = -1

// checkTTL rejects a time to live that is not positive.
func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: TTL %v is not positive", ErrInvalid, ttl)
	}
	return nil
}

// SetTTL stores v under key, to expire ttl from now.
func (d *Dict) SetTTL(ctx context.Context, key string, v any, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	op := d.op(engine.OpDictSet, key)
	op.TTL = int64(ttl)
	var err error
	if op.Value, err = encode(v); err != nil {
		return err
	}
	return d.db.exec(ctx, &op)
}

// Expire makes key expire ttl from now and reports whether the key
// exists. Its value and version stay.
func (d *Dict) Expire(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	op := d.op(engine.OpDictExpire, key)
	op.TTL = int64(ttl)
	return d.found(ctx, op)
}

// Persist removes the deadline of key and reports whether it had one.
func (d *Dict) Persist(ctx context.Context, key string) (bool, error) {
	return d.found(ctx, d.op(engine.OpDictPersist, key))
}

// TTL returns the time key has left, or NoTTL when it has no deadline,
// and whether it exists.
func (d *Dict) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	op := d.op(engine.OpDictTTL, key)
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil || !res.Found {
		return 0, false, err
	}
	return time.Duration(res.Int), true, nil
}

// IncrWithTTL is Incr that, when it creates the key, makes it expire ttl
// from now; an existing key keeps its deadline. One call makes a fixed
// window rate limiter: the count of a window, reset when it expires.
func (d *Dict) IncrWithTTL(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	op := d.op(engine.OpDictIncr, key)
	op.Delta, op.TTL = delta, int64(ttl)
	var res engine.Result
	err := d.db.do(ctx, &op, &res)
	return res.Int, err
}

// SetDefaultTTL makes the keys later written to the dict without a TTL
// expire ttl after their write; 0 removes the default. Keys already
// there keep their deadlines.
func (d *Dict) SetDefaultTTL(ctx context.Context, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("%w: TTL %v is negative", ErrInvalid, ttl)
	}
	return d.db.exec(ctx, &engine.Op{Code: engine.OpTableTTL, Table: d.name, TTL: int64(ttl)})
}
