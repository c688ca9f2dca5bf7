package cyberdb

import (
	"context"
	"time"
)

// SetTTL stores v under key, to expire ttl from now (see Dict.SetTTL).
func (t *TypedDict[V]) SetTTL(ctx context.Context, key string, v V, ttl time.Duration) error {
	return t.d.SetTTL(ctx, key, v, ttl)
}

// GetVersion returns the value of key, its version and whether it exists.
func (t *TypedDict[V]) GetVersion(ctx context.Context, key string) (V, uint64, bool, error) {
	var v V
	ver, ok, err := t.d.GetVersion(ctx, key, &v)
	return v, ver, ok, err
}

// Update replaces the value of key with fn's result for the current one,
// optimistically (see Dict.Update), and returns the value stored.
func (t *TypedDict[V]) Update(ctx context.Context, key string, fn func(old V, found bool) (V, error)) (V, error) {
	var stored V
	_, err := t.d.Update(ctx, key, func(old Value, found bool) (any, error) {
		var o V
		if found {
			if err := old.Decode(&o); err != nil {
				return nil, err
			}
		}
		v, err := fn(o, found)
		stored = v
		return v, err
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return stored, nil
}

// PopWait removes the element at end from, waiting for one while the
// list is empty (see List.PopWait).
func (t *TypedList[V]) PopWait(ctx context.Context, from Side) (V, error) {
	var v V
	err := t.l.PopWait(ctx, from, &v)
	return v, err
}

// MoveWait moves the element at end from onto end at of to, waiting for
// one while the list is empty (see List.MoveWait).
func (t *TypedList[V]) MoveWait(ctx context.Context, to *TypedList[V], from, at Side) (V, error) {
	var v V
	err := t.l.MoveWait(ctx, to.l, from, at, &v)
	return v, err
}
