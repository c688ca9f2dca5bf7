package cyberdb

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// A call that may wait on the leader (a blocking pop or move, a lock, a
// watch) travels on a dedicated stream, so that it holds up no other
// call. Its Wait is the time left to its context; when the context ends
// first, the client sends OpCancel naming the call's tag and still reads
// the leader's answer, which may hold an element taken meanwhile.

// cancelGrace bounds how long a canceled call waits for the leader's last
// answer.
const cancelGrace = 5 * time.Second

// mayWait reports whether calls of code c may wait on the leader.
func mayWait(c engine.Code) bool { return blocking(c) || c == engine.OpWatch }

// waitBound returns how long a call under ctx may wait, in nanoseconds:
// until ctx's deadline, and at most wait when it is positive.
func waitBound(ctx context.Context, wait int64) int64 {
	left := int64(math.MaxInt64)
	if d, ok := ctx.Deadline(); ok {
		left = max(int64(time.Until(d)), 0)
	}
	if wait > 0 {
		return min(wait, left)
	}
	return left
}

// await sends a call that may wait on a dedicated stream and reads its
// answer, canceling it on the leader if ctx ends first.
func (w *worker) await(ctx context.Context, op *engine.Op, res *engine.Result) error {
	op.Tag = w.db.tags.Add(1)
	op.Wait = waitBound(ctx, op.Wait)
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	if err := w.encode(op, buf); err != nil {
		return err
	}
	d, err := w.c.Dedicated()
	if err != nil {
		return callError(err)
	}
	if err := d.Send(buf.Bytes()); err != nil {
		d.Close()
		return callError(err)
	}
	body, err := d.Recv(ctx)
	if err != nil && ctx.Err() != nil {
		body, err = w.lastAnswer(d, op.Tag)
	}
	if err != nil {
		d.Close()
		return callError(err)
	}
	d.Release()
	if err := unmarshalResult(w.db.codec, body, res); err != nil {
		return fmt.Errorf("cyberdb: malformed reply from leader: %w", err)
	}
	return canceledError(ctx, res)
}

// lastAnswer cancels the call tagged tag and reads the leader's answer.
func (w *worker) lastAnswer(d *ipc.Dedicated, tag uint64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cancelGrace)
	defer cancel()
	x := getExchange()
	x.op = engine.Op{Code: engine.OpCancel, Tag: tag}
	err := w.do(ctx, &x.op, &x.res)
	putExchange(x)
	if err != nil {
		return nil, err
	}
	return d.Recv(ctx)
}

// canceledError turns the answer of a wait cut short into an error: the
// context's, when it ended, or ErrLeaderLost when the leader closed or
// lost the caller, so that the call is retried.
func canceledError(ctx context.Context, res *engine.Result) error {
	if res.Err != engine.ErrCanceled {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cyberdb: %w", err)
	}
	return fmt.Errorf("%w: %s", ErrLeaderLost, res.Msg)
}
