package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

// retainOut is the largest write buffer a stream keeps between batches.
const retainOut = 1 << 20

// States of a call, guarded by its lane's mu.
const (
	callWaiting  uint8 = iota // registered; no reply yet
	callAnswered              // reply or err set; unregistered
	callTurn                  // registered and told to take over reading
)

// call is one request awaiting its reply. Calls are pooled. Every change
// of state made by another goroutine is signalled on done, exactly once,
// while the lane's mu is held; the call's owner consumes each signal.
type call struct {
	done   chan struct{} // capacity 1
	state  uint8
	parked bool    // its owner waits for a signal, so it may take a turn
	dec    Decoder // decodes the reply in place, or nil: reply is a copy
	reply  []byte
	buf    []byte // kept across uses: holds replies for dec
	err    error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

// retainReply is the largest reply buffer a pooled call keeps.
const retainReply = 64 << 10

func putCall(cl *call) {
	cl.state, cl.parked, cl.dec, cl.reply, cl.err = callWaiting, false, nil, nil, nil
	if cap(cl.buf) > retainReply {
		cl.buf = nil
	}
	callPool.Put(cl)
}

// signal tells cl's owner that its state changed. mu must be held.
func (cl *call) signal() { cl.done <- struct{}{} }

// clientStream is one lane. Callers queue frames in out; the first caller
// to find no write in progress writes the whole queue, and keeps writing
// whatever others queued meanwhile, so a busy lane sends many requests
// per write. There is no reader goroutine: a waiting caller reads the
// lane itself and hands the replies of others to them, so a lone caller
// gets its reply with no goroutine hand-off at all. When the reader has
// its own reply it passes the turn to another waiting caller.
type clientStream struct {
	c  *Client
	st net.Conn
	fr *transport.FrameReader // used by the caller whose turn it is

	mu      sync.Mutex       // protects the fields below
	pending map[uint64]*call // calls awaiting a reply
	out     []byte           // frames queued for the next write
	spare   []byte           // an empty buffer to swap with out
	writing bool             // a caller is writing; others only queue
	reading bool             // a caller is reading; others wait for a signal
	err     error            // set once the lane has failed
}

func newClientStream(c *Client, st net.Conn, maxSize int) *clientStream {
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
	if len(s.pending) > 1 {
		// Other calls are in flight: let their callers queue their
		// frames first, so that one write carries them all.
		s.mu.Unlock()
		runtime.Gosched()
		s.mu.Lock()
	}
	err := s.flushLocked()
	s.mu.Unlock()
	if err != nil {
		s.c.fail(sessionError(err))
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

// wait returns cl's reply: it reads the lane itself when no other caller
// does, else waits to be answered or handed the turn, or for ctx.
func (s *clientStream) wait(ctx context.Context, id uint64, cl *call) ([]byte, error) {
	s.mu.Lock()
	if cl.state == callWaiting && !s.reading {
		s.reading = true
		s.mu.Unlock()
		return s.read(ctx, id, cl)
	}
	cl.parked = true
	s.mu.Unlock()
	select {
	case <-cl.done:
	case <-ctx.Done():
		return s.cancel(ctx, id, cl)
	}
	s.mu.Lock()
	turn := cl.state == callTurn
	if turn {
		cl.state, cl.parked = callWaiting, false
	}
	s.mu.Unlock()
	if turn {
		return s.read(ctx, id, cl)
	}
	return answer(cl)
}

// answer returns the outcome of an answered call, decoded if it has a
// Decoder, and recycles the call.
func answer(cl *call) ([]byte, error) {
	reply, err := cl.reply, cl.err
	if err == nil && cl.dec != nil {
		reply, err = nil, cl.dec.DecodeReply(reply)
	}
	putCall(cl)
	return reply, err
}

// cancel gives up a call that is not reading because ctx is done. A reply
// that arrived meanwhile is returned; a turn received meanwhile is passed
// on.
func (s *clientStream) cancel(ctx context.Context, id uint64, cl *call) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cl.state {
	case callAnswered:
		<-cl.done
		return answer(cl)
	case callTurn:
		<-cl.done
		s.reading = false
	}
	delete(s.pending, id)
	s.passTurnLocked()
	putCall(cl)
	return nil, ctx.Err()
}

// read reads the lane, handing replies to their callers, until cl's own
// reply arrives, ctx is done or the lane fails. s.reading is set for it.
//
// A reader cannot select on ctx while it blocks in a read, so ctx is
// watched through the read deadline: ctx's deadline if it has one (the
// cheapest way: no allocation, and no timer earlier than ctx's own), else
// a callback that expires the read when ctx is canceled. A context with
// a deadline that is canceled earlier is noticed when its reply arrives,
// at its deadline, or when the session fails (a hung leader fails it
// within the keepalive interval).
func (s *clientStream) read(ctx context.Context, id uint64, cl *call) ([]byte, error) {
	deadline, _ := ctx.Deadline()
	if !deadline.IsZero() {
		_ = s.st.SetReadDeadline(deadline)
	} else if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, s.expire)
		defer stop()
	}
	for {
		f, err := s.fr.Next()
		switch {
		case err != nil && transport.IsTimeout(err) && ctx.Err() != nil:
			return s.quit(ctx, id, cl)
		case err != nil && transport.IsTimeout(err):
			// The deadline of an earlier reader, or ctx's own a moment
			// before ctx reports it.
			_ = s.st.SetReadDeadline(deadline)
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				<-ctx.Done()
			}
		case err != nil:
			return s.failed(cl, sessionError(err))
		case f.Type == frameResponse && f.ID == id:
			return s.own(id, cl, f.Body)
		case f.Type == frameResponse:
			s.deliver(f.ID, f.Body)
		case f.Type == frameGoodbye:
			return s.failed(cl, ErrLeaderClosed)
		default:
			return s.failed(cl, fmt.Errorf("%w: unexpected frame type %d from the leader", ErrSessionClosed, f.Type))
		}
	}
}

// expire wakes the lane's reader, whose context has ended.
func (s *clientStream) expire() { _ = s.st.SetReadDeadline(time.Unix(1, 0)) }

// own completes the reader's call with its reply. Replies already
// buffered are delivered before the turn passes on, since that costs no
// read.
func (s *clientStream) own(id uint64, cl *call, body []byte) ([]byte, error) {
	var reply []byte
	var err error
	if cl.dec != nil {
		err = cl.dec.DecodeReply(body) // before the buffer is read again
	} else {
		reply = cloneBytes(body)
	}
	s.mu.Lock()
	if cl.state == callAnswered { // failed meanwhile
		s.mu.Unlock()
		<-cl.done
		return answer(cl)
	}
	delete(s.pending, id)
	s.mu.Unlock()
	end := s.drain()
	s.mu.Lock()
	s.reading = false
	s.passTurnLocked()
	s.mu.Unlock()
	if end != nil {
		s.c.fail(end)
	}
	putCall(cl)
	return reply, err
}

// drain delivers the replies buffered whole. It returns the error that
// ends the session if it meets a goodbye or a bad frame.
func (s *clientStream) drain() error {
	for s.fr.Ready() {
		f, err := s.fr.Next()
		switch {
		case err != nil:
			return sessionError(err)
		case f.Type == frameResponse:
			s.deliver(f.ID, f.Body)
		case f.Type == frameGoodbye:
			return ErrLeaderClosed
		default:
			return fmt.Errorf("%w: unexpected frame type %d from the leader", ErrSessionClosed, f.Type)
		}
	}
	return nil
}

// quit stops reading for a call whose ctx is done and passes the turn.
func (s *clientStream) quit(ctx context.Context, id uint64, cl *call) ([]byte, error) {
	_ = s.st.SetReadDeadline(time.Time{})
	s.mu.Lock()
	defer s.mu.Unlock()
	if cl.state == callAnswered {
		<-cl.done
		return answer(cl)
	}
	delete(s.pending, id)
	s.reading = false
	s.passTurnLocked()
	putCall(cl)
	return nil, ctx.Err()
}

// failed ends the session with err, which answers every call, the
// reader's own included.
func (s *clientStream) failed(cl *call, err error) ([]byte, error) {
	s.c.fail(err)
	<-cl.done
	return answer(cl)
}

// passTurnLocked hands the reading to a parked call, if there is one and
// no one reads. A call still sending (perhaps writing the queue, which
// the leader may not read until its replies are read) is never chosen:
// it will read once it has sent. s.mu is held.
func (s *clientStream) passTurnLocked() {
	if s.reading || s.err != nil {
		return
	}
	for _, cl := range s.pending {
		if cl.state == callWaiting && cl.parked {
			cl.state = callTurn
			s.reading = true
			cl.signal()
			return
		}
	}
}

// deliver hands a copy of body to the call waiting for id, if any.
func (s *clientStream) deliver(id uint64, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl := s.pending[id]
	if cl == nil {
		return
	}
	delete(s.pending, id)
	if cl.dec != nil {
		cl.buf = append(cl.buf[:0], body...)
		cl.reply = cl.buf
	} else {
		cl.reply = cloneBytes(body)
	}
	cl.state = callAnswered
	cl.signal()
}

// abort fails every pending call with err and refuses new ones; a lane
// aborted earlier keeps its first error.
func (s *clientStream) abort(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	for _, cl := range s.pending {
		cl.err = s.err
		cl.state = callAnswered
		cl.signal()
	}
	clear(s.pending)
	s.reading = false
}

// cloneBytes returns a copy of b that is never nil.
func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
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
