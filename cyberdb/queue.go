package cyberdb

import (
	"context"
	"fmt"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

// Side names an end of a list.
type Side int8

// The ends of a list.
const (
	Front Side = 0
	Back  Side = -1
)

// check rejects a value that is not Front or Back.
func (e Side) check() error {
	if e != Front && e != Back {
		return fmt.Errorf("%w: end %d is neither Front nor Back", ErrInvalid, e)
	}
	return nil
}

// PopWait removes the element at end from of the list and decodes it into
// dst (which may be nil), waiting for one while the list is empty, until
// ctx ends. An element is taken by one caller only; callers waiting on
// the same list are served in no particular order. If ctx ends just as an
// element is taken, PopWait returns it rather than losing it; an element
// that does not decode into dst is taken all the same, and the decoding
// error returned. For work that must survive the death of its taker, use
// MoveWait.
func (l *List) PopWait(ctx context.Context, from Side, dst any) error {
	if err := from.check(); err != nil {
		return err
	}
	op := l.op(engine.OpListBPop, int(from))
	return l.take(ctx, op, dst)
}

// MoveWait takes the element at end from of the list and pushes it at end
// at of to, atomically (Redis BLMOVE), decodes it into dst (which may be
// nil), and waits for one while the list is empty, until ctx ends. The
// two lists may be the same (a rotation). A worker that moves a job into
// a list of jobs in progress, and removes it from there when done, never
// loses a job: if it dies, the job is still in that list for another to
// recover.
func (l *List) MoveWait(ctx context.Context, to *List, from, at Side, dst any) error {
	op, err := l.moveOp(to, from, at)
	if err != nil {
		return err
	}
	return l.take(ctx, op, dst)
}

// Move is MoveWait without waiting: it reports false at once when the
// list is empty.
func (l *List) Move(ctx context.Context, to *List, from, at Side, dst any) (bool, error) {
	op, err := l.moveOp(to, from, at)
	if err != nil {
		return false, err
	}
	op.Wait = -1
	var res engine.Result
	if err := l.db.do(ctx, &op, &res); err != nil || !res.Found {
		return false, err
	}
	return true, decodeInto(res.Value, dst)
}

// moveOp returns the operation of a move from l to to.
func (l *List) moveOp(to *List, from, at Side) (engine.Op, error) {
	if err := from.check(); err != nil {
		return engine.Op{}, err
	}
	if err := at.check(); err != nil {
		return engine.Op{}, err
	}
	if to == nil || to.db != l.db {
		return engine.Op{}, fmt.Errorf("%w: Move takes a list of the same DB", ErrInvalid)
	}
	op := l.op(engine.OpListMove, int(from))
	op.Field, op.Stop = to.name, int64(at)
	return op, nil
}

// take runs a blocking operation until it takes an element. The first
// round does not wait: an element already there is taken at the cost of
// an ordinary call, without a stream of its own.
func (l *List) take(ctx context.Context, op engine.Op, dst any) error {
	for wait := int64(-1); ; wait = 0 {
		op.Seq, op.Ack, op.Wait = 0, 0, wait // a new write each round: the last one took nothing
		var res engine.Result
		if err := l.db.do(ctx, &op, &res); err != nil {
			return err
		}
		if res.Found {
			return decodeInto(res.Value, dst)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cyberdb: waiting for an element of %q: %w", l.name, err)
		}
	}
}
