package cyberdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/backup"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// Handle applies one request from a client process and appends the
// encoded result to dst. It implements ipc.Handler.
func (l *leader) Handle(p *ipc.Peer, req []byte, dst []byte) []byte {
	var op engine.Op
	var res engine.Result
	if err := l.db.codec.Unmarshal(req, &op); err != nil {
		fail(&res, engine.ErrInvalid, "malformed request: %v", err)
	} else {
		op.Client = p.ClientID
		l.apply(&op, &res, p.Cred.UID == uint32(os.Geteuid()))
	}
	return l.encodeResult(dst, &res)
}

// PeerClosed releases what a client process held. It implements
// ipc.Handler.
func (l *leader) PeerClosed(p *ipc.Peer) {
	l.eng.ReleaseCursors(p.ClientID)
}

// apply runs op on the engine, or on the store as a whole for the
// operations that read or write backup files, which only processes of
// the leader's own user may ask for.
func (l *leader) apply(op *engine.Op, res *engine.Result, owner bool) {
	switch op.Code {
	case engine.OpSave, engine.OpLoad:
		if !owner {
			fail(res, engine.ErrInvalid, "only processes of the leader's user may save or load backup files")
			return
		}
		l.applyFile(op, res)
	default:
		l.eng.Apply(op, res)
	}
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

// encodeResult appends res to dst, replacing it with an error when it
// does not fit in one message.
func (l *leader) encodeResult(dst []byte, res *engine.Result) []byte {
	buf := bytes.NewBuffer(dst)
	if err := l.db.codec.MarshalTo(buf, res); err != nil {
		*res = engine.Result{}
		fail(res, engine.ErrInternal, "%v", err)
		buf = bytes.NewBuffer(dst)
		l.db.codec.MarshalTo(buf, res)
	}
	if n := buf.Len() - len(dst); n > l.db.opts.MaxMessageSize-64 {
		*res = engine.Result{}
		fail(res, engine.ErrInvalid, "result of %d bytes exceeds MaxMessageSize %d; iterate with All instead", n, l.db.opts.MaxMessageSize)
		buf = bytes.NewBuffer(dst)
		l.db.codec.MarshalTo(buf, res)
	}
	return buf.Bytes()
}

// fail sets res to an error with a formatted message.
func fail(res *engine.Result, code engine.ErrCode, format string, args ...any) {
	res.Err = code
	res.Msg = fmt.Sprintf(format, args...)
}
