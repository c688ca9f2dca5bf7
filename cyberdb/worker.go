package cyberdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// worker is the role of a process attached to the leader: its calls are
// encoded and sent over the socket.
type worker struct {
	db *DB
	c  *ipc.Client
}

// attach dials the leader's socket and performs the handshake.
func (db *DB) attach(ctx context.Context) (*worker, error) {
	c, err := ipc.Dial(ctx, db.sockPath(), ipc.ClientConfig{
		ClientID:  db.clientID,
		PID:       os.Getpid(),
		Streams:   db.opts.Streams,
		Limits:    db.opts.limits(),
		KeepAlive: db.opts.keepAlive(),
		Version:   clientVersion,
	})
	if err != nil {
		return nil, err
	}
	return &worker{db: db, c: c}, nil
}

// clientVersion overrides the protocol version clients speak, for tests
// of version skew; 0 means ipc.ProtocolVersion.
var clientVersion uint16

// bufPool holds request encoding buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// do encodes op, sends it to the leader and decodes the result. A call
// that may wait goes on a stream of its own.
func (w *worker) do(ctx context.Context, op *engine.Op, res *engine.Result) error {
	if mayWait(op.Code) && op.Wait >= 0 {
		return w.await(ctx, op, res)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	if err := w.encode(op, buf); err != nil {
		return err
	}
	x := resultPool.Get().(*resultDecoder)
	x.codec, x.res = w.db.codec, res
	err := w.c.CallDecode(ctx, buf.Bytes(), x)
	*x = resultDecoder{}
	resultPool.Put(x)
	if err != nil {
		return replyError(err)
	}
	return nil
}

// encode writes op into buf, checking its size.
func (w *worker) encode(op *engine.Op, buf *bytes.Buffer) error {
	buf.Reset()
	if b, ok := appendOp(buf.AvailableBuffer(), op); ok {
		*buf = *bytes.NewBuffer(b) // adopt b: its bytes are in place, its capacity kept
	} else if err := w.db.codec.MarshalTo(buf, op); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if n := buf.Len(); n > w.db.opts.MaxMessageSize-64 {
		return fmt.Errorf("%w: request of %d bytes exceeds MaxMessageSize %d", ErrInvalid, n, w.db.opts.MaxMessageSize)
	}
	return nil
}

// replyError maps the error of a call to the public errors.
func replyError(err error) error {
	var malformed *malformedReply
	if errors.As(err, &malformed) {
		return fmt.Errorf("cyberdb: malformed reply from leader: %w", malformed.err)
	}
	return callError(err)
}

// putBuf returns buf to the pool unless it grew too large to keep.
func putBuf(buf *bytes.Buffer) {
	if buf.Cap() <= 64<<10 {
		bufPool.Put(buf)
	}
}

// callError maps a transport failure to the public errors.
func callError(err error) error {
	switch {
	case errors.Is(err, ipc.ErrSessionClosed):
		return fmt.Errorf("%w: %v", ErrLeaderLost, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("cyberdb: no reply from the leader before the context ended: %w", err)
	}
	return err
}

func (w *worker) isLeader() bool        { return false }
func (w *worker) lost() <-chan struct{} { return w.c.Done() }
func (w *worker) close() error          { return w.c.Close() }
