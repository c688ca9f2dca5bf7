package ipc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"syscall"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

// flushSize is the amount of queued replies that is written even while
// more requests are buffered.
const flushSize = 64 << 10

// serverStream applies the requests of one stream in order, inline, and
// writes the replies in batches: when its input is drained or the batch is
// large. Replies that must wait for their mark go through the stream's
// replier (see replier.go).
type serverStream struct {
	sess    *session
	st      streamConn
	fr      *transport.FrameReader
	flusher Flusher  // the handler if it marks replies, else nil
	max     int      // the largest reply frame length
	out     []byte   // reply frames not yet written
	mark    uint64   // the highest mark of the replies in out (see Flusher)
	rep     *replier // writes the replies that wait for their mark; nil until needed
	held    int      // batches handed to rep and not taken back
}

// panicError is a Handler panic, with the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("handler panic: %v", e.value) }

// serveStream serves the requests of st, a yamux stream or a lane, until
// it ends, then closes it; a malformed stream ends the whole session. A
// stream the client reset ends alone: the client gave up on it.
func (ss *session) serveStream(st streamConn) {
	defer ss.streams.Done()
	defer st.Close() // after remove: a client may count on it
	defer ss.remove(st)
	max := ss.srv.cfg.Limits.MaxMessageSize
	s := &serverStream{sess: ss, st: st, fr: transport.NewFrameReader(st, max), max: max}
	s.flusher, _ = ss.srv.h.(Flusher)
	err := s.serve()
	if rerr := s.endReplies(); err == nil {
		err = rerr
	}
	ss.streamFailed(err)
}

// streamFailed ends the session for err, the error that ended one of its
// streams or a stream's replier, unless err is nil, the session is ending
// anyway, or the client reset the stream: the client gave up on it, and
// it ends alone.
func (ss *session) streamFailed(err error) {
	if err != nil && !ss.ending() && !errors.Is(err, yamux.ErrConnectionReset) {
		ss.abort(err)
	}
}

func (s *serverStream) serve() error {
	for {
		f, err := s.fr.Next()
		if err != nil {
			return s.readFailed(err)
		}
		if f.Type != frameRequest {
			return fmt.Errorf("unexpected frame type %d", f.Type)
		}
		if err := s.apply(f); err != nil {
			return err
		}
		if s.fr.Buffered() > 0 && len(s.out) < flushSize {
			continue
		}
		if err := s.flush(); err != nil {
			return err
		}
		if s.sess.closing.Load() {
			return s.sayGoodbye()
		}
	}
}

// apply runs the handler on one request and queues its reply frame.
func (s *serverStream) apply(f transport.Frame) (err error) {
	start := len(s.out)
	s.out = transport.AppendHeader(s.out, frameResponse, f.ID, 0)
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	s.out = s.handle(f.Body)
	if n := len(s.out) - start - 4; n > s.max {
		return fmt.Errorf("reply of %d bytes exceeds the limit of %d", n, s.max)
	}
	transport.PutHeader(s.out[start:], frameResponse, f.ID)
	return nil
}

// handle runs the handler on a request body, appending the reply to out
// and noting its mark for a Flusher.
func (s *serverStream) handle(body []byte) []byte {
	if s.flusher == nil {
		return s.sess.srv.h.Handle(s.sess.peer, body, s.out)
	}
	out, mark := s.flusher.HandleMarked(s.sess.peer, body, s.out)
	s.mark = max(s.mark, mark)
	return out
}

// flush writes the queued replies, or hands them to the replier when
// they must wait for their mark, or follow replies that do.
func (s *serverStream) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	if s.rep != nil {
		if err := s.replyErr(); err != nil {
			return err
		}
	}
	if s.mark > 0 || s.rep != nil && s.reclaim() > 0 { // only with a flusher
		s.hold()
		return nil
	}
	err := s.write(s.out)
	s.out = s.out[:0]
	if cap(s.out) > retainOut {
		s.out = nil
	}
	return err
}

// write writes reply frames to the stream.
func (s *serverStream) write(out []byte) error {
	if _, err := s.st.Write(out); err != nil {
		return fmt.Errorf("write replies: %w", err)
	}
	return nil
}

// readFailed classifies a read error: nil for an orderly end, a goodbye
// when the server is closing, the error for a malformed stream.
func (s *serverStream) readFailed(err error) error {
	switch {
	case s.sess.closing.Load() && isTimeout(err):
		return s.sayGoodbye()
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return nil
	}
	return fmt.Errorf("read request: %w", err)
}

// sayGoodbye writes the pending replies and a Goodbye frame.
func (s *serverStream) sayGoodbye() error {
	s.out = transport.AppendFrame(s.out, frameGoodbye, 0, nil)
	return s.flush()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
