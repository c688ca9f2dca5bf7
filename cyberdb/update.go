package cyberdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Every dict key has a version: the revision of the write that stored
// its value. Versions only grow, across takeovers too, so a key holds the
// same value for as long as it keeps its version.

// GetVersion is Get that also returns the version of key (0 when it does
// not exist).
func (d *Dict) GetVersion(ctx context.Context, key string, dst any) (uint64, bool, error) {
	op := d.op(engine.OpDictGet, key)
	var res engine.Result
	if err := d.db.do(ctx, &op, &res); err != nil || !res.Found {
		return 0, false, err
	}
	return res.Version, true, decodeInto(res.Value, dst)
}

// maxUpdateTries bounds the rounds of Update under contention.
const maxUpdateTries = 1000

// Update replaces the value of key with what fn returns for the current
// one (found is false when the key does not exist), optimistically: it
// reads the value and its version, calls fn, and stores the result only
// if the version is still the same, else starts again. fn runs in this
// process, may run several times and should have no side effects; an
// error from it ends Update with that error and changes nothing. The
// value is stored as Set stores it: a deadline the key had is not kept
// (the dict's default TTL applies). Update returns the version it stored,
// or an error wrapping ErrConflict after many rounds lost to other
// writers.
func (d *Dict) Update(ctx context.Context, key string, fn func(old Value, found bool) (any, error)) (uint64, error) {
	for range maxUpdateTries {
		var old Value
		ver, found, err := d.GetVersion(ctx, key, &old)
		if err != nil {
			return 0, err
		}
		v, err := fn(old, found)
		if err != nil {
			return 0, err
		}
		ver, err = d.swap(ctx, key, ver, v)
		if !errors.Is(err, ErrConflict) {
			return ver, err
		}
	}
	return 0, fmt.Errorf("%w: Update of %q in %q lost %d rounds to other writers", ErrConflict, key, d.name, maxUpdateTries)
}

// swap stores v under key if the key still has version ver (0: absent)
// and returns the new version.
func (d *Dict) swap(ctx context.Context, key string, ver uint64, v any) (uint64, error) {
	tx := d.db.Txn()
	tx.CheckVersion(d, key, ver)
	set := tx.Set(d, key, v)
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return set.Version(), nil
}
