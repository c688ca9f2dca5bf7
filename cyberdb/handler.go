package cyberdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// Handle applies one request from a client process and appends the
// encoded result to dst. It implements ipc.Handler.
func (l *leader) Handle(p *ipc.Peer, req []byte, dst []byte) []byte {
	out, _ := l.HandleMarked(p, req, dst)
	return out
}

// HandleMarked is Handle that also returns the LSN the reply waits for
// (see replyMark), so that Flush can hold it until it is durable. It
// implements ipc.Flusher.
func (l *leader) HandleMarked(p *ipc.Peer, req []byte, dst []byte) ([]byte, uint64) {
	x := getExchange()
	defer putExchange(x)
	op, res := &x.op, &x.res
	<-l.ready
	switch err := unmarshalOp(l.db.codec, req, op); {
	case l.startErr != nil:
		fail(res, engine.ErrInternal, "the leader failed to start: %v", l.startErr)
	case err != nil:
		fail(res, engine.ErrInvalid, "malformed request: %v", err)
	default:
		op.Client = p.ClientID
		l.apply(op, res, caller{owner: p.Cred.UID == l.uid, pid: int64(p.Cred.PID), done: p.Done()})
	}
	return l.encodeResult(dst, res, &x.buf), l.replyMark(res)
}

// replyMark returns the LSN a reply must wait for before it is written:
// that of the change it acknowledges when writes wait, else none.
func (l *leader) replyMark(res *engine.Result) uint64 {
	if !l.writesWait() {
		return 0
	}
	return res.LSN
}

// writesWait reports whether a write is acknowledged only once its log
// record is durable (Always mode).
func (l *leader) writesWait() bool {
	return l.j != nil && l.db.opts.Durability == Always
}

// Flush holds a batch of replies until the writes they acknowledge, up to
// LSN mark, are durable (in Always mode). It implements ipc.Flusher.
func (l *leader) Flush(_ *ipc.Peer, mark uint64) error {
	return l.waitDurable(context.Background(), mark)
}

// PeerClosed releases what a client process held: its scan cursors and,
// unless the leader is handing over (the client lives on and attaches to
// the next leader), its locks. It implements ipc.Handler.
func (l *leader) PeerClosed(p *ipc.Peer) {
	l.eng.ReleaseCursors(p.ClientID)
	if !l.closed.Load() {
		l.releaseLocks(p.ClientID)
	}
}

// caller is who applies an operation: this process or a client's.
type caller struct {
	owner bool            // a process of the leader's own user
	pid   int64           // its process id
	done  <-chan struct{} // closed when it is gone or stops waiting
}

// apply runs op on the engine, or on the store as a whole for the
// operations that read or write backup files, which only processes of
// the leader's own user may ask for, or each operation of a batch.
func (l *leader) apply(op *engine.Op, res *engine.Result, from caller) {
	switch {
	case blocking(op.Code):
		op.PID = from.pid
		l.block(op, res, from.done)
	case op.Code == engine.OpCancel:
		l.waits.cancel(op.Client, op.Tag)
	case op.Code == engine.OpWatch:
		l.watch(op, res, from.done)
	case op.Code == engine.OpSave || op.Code == engine.OpLoad:
		if !from.owner {
			fail(res, engine.ErrInvalid, "only processes of the leader's user may save or load backup files")
			return
		}
		l.applyFile(op, res)
	case op.Code == engine.OpBatch:
		l.applyBatch(op, res, from)
	case readOnly(op) || op.Code == engine.OpCloseCursor:
		l.eng.Apply(op, res)
	default:
		l.write(op, res)
	}
}

// write applies a change once per (client, sequence number): a retried
// write gets the result of its first application.
func (l *leader) write(op *engine.Op, res *engine.Result) {
	if op.Seq != 0 {
		c := l.dedup.Load().client(op.Client)
		if prev, done := c.begin(op.Seq, op.Ack); done {
			*res = prev // with its LSN, so the reply waits until it is durable
			return
		}
		defer c.finish(op.Seq, res)
	}
	l.change(op, res)
}

// change applies a write to the engine unless writes are refused.
func (l *leader) change(op *engine.Op, res *engine.Result) {
	if err := l.writable(); err != nil {
		fail(res, engine.ErrIO, "%v", err)
		return
	}
	l.gate.RLock()
	defer l.gate.RUnlock()
	l.eng.Apply(op, res)
}

// writable returns an error while writes cannot be made durable: in
// Interval mode until the log commits again, in Always mode for a moment
// after a failed commit.
func (l *leader) writable() error {
	if l.j == nil {
		return nil
	}
	if until := l.failedUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return fmt.Errorf("writes are refused for a moment after a failed commit: %v", l.j.Err())
	}
	if l.db.opts.Durability != Always {
		return l.j.Err()
	}
	return nil
}

// waitDurable waits, in Always mode, until the change at lsn is durable.
// When the commit fails it undoes in memory every change not durable.
func (l *leader) waitDurable(ctx context.Context, lsn uint64) error {
	if lsn == 0 || !l.writesWait() {
		return nil
	}
	err := l.j.Wait(ctx, lsn)
	if err != nil && ctx.Err() == nil {
		l.recoverCommit(err)
	}
	return err
}

// recoverCommit handles a failed commit in Always mode: it drops the
// changes that were not committed and reloads the tables from disk, so
// that memory holds only durable writes, then refuses writes for a moment.
func (l *leader) recoverCommit(cause error) {
	l.gate.Lock()
	defer l.gate.Unlock()
	if l.j.Last() == l.j.Durable() {
		return // another caller recovered already
	}
	l.db.log.Error("cyberdb: log commit failed; undoing the writes not committed", "err", cause)
	l.failedUntil.Store(time.Now().Add(time.Second).UnixNano())
	durable := l.j.Discard()
	if _, err := l.reload(); err != nil {
		l.db.log.Error("cyberdb: reload after a failed commit", "err", err)
	}
	l.j.SetNext(durable)
}

func (l *leader) applyFile(op *engine.Op, res *engine.Result) {
	var err error
	if op.Code == engine.OpSave {
		err = l.snapshot(op.Field)
	} else {
		err = l.load(op.Field)
	}
	switch {
	case err == nil:
	case errors.Is(err, backup.ErrCorrupt):
		fail(res, engine.ErrCorrupt, "%v", err)
	case errors.Is(err, backup.ErrForeign):
		fail(res, engine.ErrForeign, "%v", err)
	default:
		fail(res, engine.ErrIO, "%v", err)
	}
}

// encodeResult appends res to dst, through buf, replacing it with an
// error when it does not fit in one message. Of a batch too large it
// first drops the largest results, so that the others still reach the
// client.
func (l *leader) encodeResult(dst []byte, res *engine.Result, buf *bytes.Buffer) []byte {
	l.marshalResult(dst, res, buf)
	limit := l.db.opts.MaxMessageSize - 64
	if n := buf.Len() - len(dst); n > limit && len(res.Results) > 0 {
		shedBatch(res, n-limit)
		l.marshalResult(dst, res, buf)
	}
	if n := buf.Len() - len(dst); n > limit {
		*res = engine.Result{LSN: res.LSN} // the reply still waits for the writes made
		fail(res, engine.ErrInvalid, "result of %d bytes exceeds MaxMessageSize %d; iterate with All instead", n, l.db.opts.MaxMessageSize)
		*buf = *bytes.NewBuffer(dst)
		l.db.codec.MarshalTo(buf, res)
	}
	return buf.Bytes()
}

// marshalResult appends res to dst in buf, replacing it with an internal
// error if it cannot be encoded.
func (l *leader) marshalResult(dst []byte, res *engine.Result, buf *bytes.Buffer) {
	if out, ok := appendResult(dst, res); ok {
		*buf = *bytes.NewBuffer(out)
		return
	}
	*buf = *bytes.NewBuffer(dst)
	if err := l.db.codec.MarshalTo(buf, res); err != nil {
		*res = engine.Result{LSN: res.LSN}
		fail(res, engine.ErrInternal, "%v", err)
		*buf = *bytes.NewBuffer(dst)
		l.db.codec.MarshalTo(buf, res)
	}
}

// fail sets res to an error with a formatted message.
func fail(res *engine.Result, code engine.ErrCode, format string, args ...any) {
	res.Err = code
	res.Msg = fmt.Sprintf(format, args...)
}
