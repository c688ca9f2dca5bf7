package ipc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

// retainOut is the largest write buffer a stream keeps between batches.
const retainOut = 1 << 20

// call is one request awaiting its reply. Calls are pooled: done is
// signalled exactly once per use, by the stream's reader.
type call struct {
	done  chan struct{} // capacity 1
	reply []byte
	err   error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

func putCall(cl *call) {
	cl.reply, cl.err = nil, nil
	callPool.Put(cl)
}

// clientStream is one request stream. Callers queue frames in out; the
// first caller to find no write in progress writes the whole queue, and
// keeps writing whatever others queued meanwhile, so a busy stream sends
// many requests per write without a writer goroutine. One reader
// goroutine delivers replies by id.
type clientStream struct {
	c  *Client
	st *yamux.Stream
	fr *transport.FrameReader

	mu      sync.Mutex       // protects the fields below
	pending map[uint64]*call // calls awaiting a reply
	out     []byte           // frames queued for the next write
	spare   []byte           // an empty buffer to swap with out
	writing bool             // a caller is writing; others only queue
	err     error            // set once the reader has stopped
}

func newClientStream(c *Client, st *yamux.Stream, maxSize int) *clientStream {
	return &clientStream{
		c:       c,
		st:      st,
		fr:      transport.NewFrameReader(st, maxSize),
		pending: make(map[uint64]*call),
	}
}

// send registers cl under id and queues the request, writing the queue if
// no other caller is. It fails only when cl could not be registered; a
// failed write fails the session, and with it every registered call.
func (s *clientStream) send(id uint64, cl *call, req []byte) error {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	s.pending[id] = cl
	s.out = transport.AppendFrame(s.out, frameRequest, id, req)
	if s.writing {
		s.mu.Unlock()
		return nil
	}
	s.writing = true
	err := s.flushLocked()
	s.mu.Unlock()
	if err != nil {
		s.c.lose(err)
	}
	return nil
}

// flushLocked writes queued frames until none are left or a write fails.
// s.mu is held on entry and exit but released during each write.
func (s *clientStream) flushLocked() error {
	defer func() { s.writing = false }()
	for len(s.out) > 0 {
		buf := s.out
		s.out = s.spare[:0]
		s.mu.Unlock()
		_, err := s.st.Write(buf)
		s.mu.Lock()
		if cap(buf) <= retainOut {
			s.spare = buf[:0]
		}
		if err != nil {
			s.out = s.out[:0]
			return err
		}
	}
	return nil
}

// wait blocks until cl's reply arrives or ctx is done.
func (s *clientStream) wait(ctx context.Context, id uint64, cl *call) ([]byte, error) {
	select {
	case <-cl.done:
		reply, err := cl.reply, cl.err
		putCall(cl)
		return reply, err
	case <-ctx.Done():
		if s.forget(id) {
			putCall(cl)
		}
		return nil, ctx.Err()
	}
}

// forget unregisters id and reports whether it was still pending; if not,
// the reader owns the call and will signal it.
func (s *clientStream) forget(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pending[id]
	delete(s.pending, id)
	return ok
}

// readLoop delivers replies until the stream ends. After a Goodbye only
// this stream stops, failing the calls the leader never read; other
// streams may still carry replies. Any other end brings the session down.
func (s *clientStream) readLoop() {
	defer s.c.readers.Done()
	err := s.readFrames()
	if err == ErrLeaderClosed {
		s.abort(err)
	}
	s.c.readerDone(err)
}

func (s *clientStream) readFrames() error {
	for {
		f, err := s.fr.Next()
		if err != nil {
			return sessionError(err)
		}
		switch f.Type {
		case frameResponse:
			s.deliver(f.ID, f.Body)
		case frameGoodbye:
			return ErrLeaderClosed
		default:
			return fmt.Errorf("%w: unexpected frame type %d from the leader", ErrSessionClosed, f.Type)
		}
	}
}

// deliver hands a copy of body to the call waiting for id, if any.
func (s *clientStream) deliver(id uint64, body []byte) {
	s.mu.Lock()
	cl := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if cl != nil {
		cl.reply = bytes.Clone(body)
		cl.done <- struct{}{}
	}
}

// abort fails every pending call with err and refuses new ones; a stream
// aborted earlier keeps its first error.
func (s *clientStream) abort(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, cl := range pending {
		cl.err = err
		cl.done <- struct{}{}
	}
}

// sessionError wraps a stream error as a lost session.
func sessionError(err error) error {
	if errors.Is(err, ErrSessionClosed) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, yamux.ErrSessionShutdown) {
		return ErrSessionClosed
	}
	return fmt.Errorf("%w: %w", ErrSessionClosed, err)
}
