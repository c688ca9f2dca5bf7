package cyberdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("cyberdb: lock held by another holder")

// Lock is a named lock held across the processes of a store. It has a
// lease: unless refreshed, it is released when the lease runs out, and it
// is released at once when its holder's process exits or dies (the
// leader's own, when the next leader takes over). Its fencing token is
// larger than that of every earlier holder of any lock of the store, so
// a resource that remembers the largest token it has seen can refuse a
// holder whose lease ran out while it was paused.
type Lock struct {
	db    *DB
	name  string
	lease time.Duration
	token uint64
}

// TryLock takes the lock name for lease, or returns ErrLocked at once if
// another holder has it. A lock is not reentrant: a second TryLock of the
// same name in the same process fails too.
func (db *DB) TryLock(ctx context.Context, name string, lease time.Duration) (*Lock, error) {
	return db.acquire(ctx, name, lease, -1)
}

// Lock takes the lock name for lease, waiting while another holder has it
// until ctx ends. Waiters are served in no particular order.
func (db *DB) Lock(ctx context.Context, name string, lease time.Duration) (*Lock, error) {
	for wait := int64(-1); ; wait = 0 { // the first try does not wait: no stream of its own
		l, err := db.acquire(ctx, name, lease, wait)
		if !errors.Is(err, ErrLocked) {
			return l, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cyberdb: waiting for lock %q: %w", name, err)
		}
	}
}

// acquire makes one attempt, waiting up to ctx unless wait is negative.
func (db *DB) acquire(ctx context.Context, name string, lease time.Duration, wait int64) (*Lock, error) {
	if err := checkLock(name, lease); err != nil {
		return nil, err
	}
	op := engine.Op{Code: engine.OpLock, Key: name, TTL: int64(lease), Wait: wait}
	var res engine.Result
	if err := db.do(ctx, &op, &res); err != nil {
		return nil, err
	}
	if !res.Found {
		return nil, fmt.Errorf("%w: %q", ErrLocked, name)
	}
	return &Lock{db: db, name: name, lease: lease, token: res.Version}, nil
}

// checkLock validates a lock's name and lease.
func checkLock(name string, lease time.Duration) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty lock name", ErrInvalid)
	case lease <= 0:
		return fmt.Errorf("%w: lock lease %v is not positive", ErrInvalid, lease)
	}
	return nil
}

// Name returns the lock's name.
func (l *Lock) Name() string { return l.name }

// Token returns the fencing token of this acquisition.
func (l *Lock) Token() uint64 { return l.token }

// Refresh renews the lease for its full length from now. It returns
// ErrNotHeld if the lease ran out and the lock is no longer this one's.
func (l *Lock) Refresh(ctx context.Context) error {
	return l.call(ctx, engine.OpLockRefresh)
}

// Unlock releases the lock. It returns ErrNotHeld if the lease ran out
// and the lock is no longer this one's.
func (l *Lock) Unlock(ctx context.Context) error {
	return l.call(ctx, engine.OpUnlock)
}

func (l *Lock) call(ctx context.Context, code engine.Code) error {
	op := engine.Op{Code: code, Key: l.name, Version: l.token, TTL: int64(l.lease)}
	var res engine.Result
	if err := l.db.do(ctx, &op, &res); err != nil {
		return err
	}
	if !res.Found {
		return fmt.Errorf("%w: %q with token %d", ErrNotHeld, l.name, l.token)
	}
	return nil
}
