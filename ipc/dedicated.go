package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

// A dedicated stream is a yamux stream that one caller at a time uses for
// calls that may block on the leader: the leader serves each stream on a
// goroutine of its own, so a handler that waits there holds up no lane.
// The client never closes a stream under a request the leader has read,
// and counts a stream until the leader has closed its end, so it never
// opens more streams than the leader allows a session.

const (
	// maxIdleDedicated bounds the idle dedicated streams a Client keeps
	// for reuse.
	maxIdleDedicated = 16
	// retainRequest is the largest request buffer a dedicated stream keeps.
	retainRequest = 64 << 10
)

// ErrTooManyStreams reports that a Client has as many dedicated streams
// open as the leader allows a session, less its lanes.
var ErrTooManyStreams = errors.New("cyberdb: too many dedicated streams")

// Misuses of a Dedicated.
var (
	errReleased    = errors.New("cyberdb: dedicated stream used after Release or Close")
	errOutstanding = errors.New("cyberdb: dedicated stream already has a request outstanding")
	errNoRequest   = errors.New("cyberdb: dedicated stream has no request outstanding")
)

// Dedicated is a stream of a Client's own for calls that may block on the
// leader, such as a pop that waits for an element, without holding up the
// calls of a lane. It carries one request at a time: Send, then Recv until
// the reply arrives. A Dedicated is not safe for concurrent use; a Recv
// blocked in it is woken when the Client's session ends.
type Dedicated struct {
	s *dstream // nil after Release or Close
}

// dstream is a dedicated stream, in use or idle in its Client's pool. It
// is used by one goroutine at a time; handing it over (pool, retire)
// orders the accesses.
type dstream struct {
	c   *Client
	st  *yamux.Stream
	fr  *transport.FrameReader
	out []byte // the request frame being written
	id  uint64 // the request awaiting its reply, or 0
	err error  // why the stream failed (the session failed with it)
}

// Dedicated returns a stream of the client's own for calls that may block
// on the leader: an idle one from a small pool, else a new yamux stream
// (opening waits while 256 others await the leader's acceptance). It fails
// with the client's error once the session is gone, and with
// ErrTooManyStreams when the leader would refuse another stream.
func (c *Client) Dedicated() (*Dedicated, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	s, err := c.takeIdle()
	if s == nil && err == nil {
		s, err = c.openDedicated()
	}
	if err != nil {
		return nil, err
	}
	return &Dedicated{s: s}, nil
}

// takeIdle returns an idle dedicated stream, or nil having counted a new
// one against the leader's limit, which the lanes count towards too.
func (c *Client) takeIdle() (*dstream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.idle); n > 0 {
		s := c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		return s, nil
	}
	if len(c.dedicated)+c.opening >= maxSessionStreams-len(c.streams) {
		return nil, ErrTooManyStreams
	}
	c.opening++
	return nil, nil
}

// openDedicated opens a dedicated stream that takeIdle has counted.
func (c *Client) openDedicated() (*dstream, error) {
	st, err := c.sess.OpenStream()
	if err != nil {
		c.opened(nil)
		return nil, c.broken(err)
	}
	s := &dstream{c: c, st: st, fr: transport.NewFrameReader(st, c.maxSize)}
	if !c.opened(s) {
		_ = st.Close()
		return nil, c.Err()
	}
	return s, nil
}

// opened registers s, just opened, or nil if opening failed; it reports
// false if c has failed meanwhile.
func (c *Client) opened(s *dstream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opening--
	if s == nil || c.ended {
		return false
	}
	c.dedicated[s] = struct{}{}
	return true
}

// uncount stops counting s, which the leader has let go.
func (c *Client) uncount(s *dstream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.dedicated, s)
}

// putIdle pools s for reuse, unless the pool is full or c has failed.
func (c *Client) putIdle(s *dstream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || len(c.idle) >= maxIdleDedicated {
		return false
	}
	c.idle = append(c.idle, s)
	return true
}

// endDedicated empties the pool for good and wakes the readers of the
// dedicated streams, before the session closes them: yamux readers spin
// between the session's shutdown and the closing of its streams. done is
// closed, so the woken readers give up.
func (c *Client) endDedicated() {
	c.mu.Lock()
	c.idle, c.ended = nil, true
	live := make([]*dstream, 0, len(c.dedicated))
	for s := range c.dedicated {
		live = append(live, s)
	}
	c.mu.Unlock()
	for _, s := range live {
		s.expire()
	}
}

// track counts a goroutine that Close waits for, unless c has failed.
func (c *Client) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.watcher.Add(1)
	return true
}

// Send writes the request req, which may be reused once Send returns. It
// fails if a reply is outstanding, if req exceeds the leader's limit
// (ErrFrameTooLarge), or with the client's error once the session is gone.
func (d *Dedicated) Send(req []byte) error {
	if d.s == nil {
		return errReleased
	}
	return d.s.send(req)
}

// Recv waits for the reply to the request sent last and returns it; the
// caller owns it. If ctx ends first, Recv returns ctx.Err() and the reply
// stays outstanding for a later Recv, so a caller that gives up can ask the
// leader (on a lane) to cancel the call and still receive its outcome.
// Recv fails with the client's error, matching ErrSessionClosed, when the
// session ends, the leader says goodbye or the Client is closed.
func (d *Dedicated) Recv(ctx context.Context) ([]byte, error) {
	if d.s == nil {
		return nil, errReleased
	}
	return d.s.recv(ctx)
}

// Release gives the stream back to its Client for reuse if no reply is
// outstanding, else closes it as Close does. d is unusable afterwards.
func (d *Dedicated) Release() {
	s := d.s
	if s == nil {
		return
	}
	d.s = nil
	if s.id != 0 || s.err != nil || !s.c.putIdle(s) {
		s.retire()
	}
}

// Close closes the stream without blocking; a reply still outstanding is
// awaited and dropped in the background. Close is idempotent.
func (d *Dedicated) Close() error {
	if s := d.s; s != nil {
		d.s = nil
		s.retire()
	}
	return nil
}

// send writes one request frame. A failed write fails the session, as on
// a lane.
func (s *dstream) send(req []byte) error {
	switch {
	case s.err != nil:
		return s.err
	case s.id != 0:
		return errOutstanding
	}
	if err := s.c.checkSize(req); err != nil {
		return err
	}
	id := s.c.ids.Add(1)
	s.out = transport.AppendFrame(s.out[:0], frameRequest, id, req)
	_, err := s.st.Write(s.out)
	if cap(s.out) > retainRequest {
		s.out = nil
	}
	if err != nil {
		return s.fail(err)
	}
	s.id = id
	return nil
}

// recv reads the reply to the outstanding request. ctx is watched through
// the read deadline, which leaves the stream usable when it expires.
func (s *dstream) recv(ctx context.Context) ([]byte, error) {
	switch {
	case s.err != nil:
		return nil, s.err
	case s.id == 0:
		return nil, errNoRequest
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, s.expire)
		defer stop()
	}
	for {
		f, err := s.fr.Next()
		if err == nil {
			return s.reply(f)
		}
		if !transport.IsTimeout(err) {
			return nil, s.fail(err)
		}
		if err := s.timedOut(ctx); err != nil {
			return nil, err
		}
	}
}

// timedOut handles an expired read deadline, set because the session
// ended or ctx ended, or by an earlier Recv whose wake-up came late. It
// returns the error that ends the read, if any.
func (s *dstream) timedOut(ctx context.Context) error {
	if s.c.isDone() {
		return s.fail(ErrSessionClosed)
	}
	_ = s.st.SetReadDeadline(time.Time{})
	return ctx.Err()
}

// expire wakes the stream's reader, whose context has ended.
func (s *dstream) expire() { _ = s.st.SetReadDeadline(time.Unix(1, 0)) }

// reply completes the outstanding request with f, which must be its
// Response; anything else ends the session.
func (s *dstream) reply(f transport.Frame) ([]byte, error) {
	switch {
	case f.Type == frameResponse && f.ID == s.id:
		s.id = 0
		return cloneBytes(f.Body), nil
	case f.Type == frameGoodbye:
		return nil, s.fail(ErrLeaderClosed)
	}
	return nil, s.fail(fmt.Errorf("%w: unexpected frame (type %d, id %d) on a dedicated stream", ErrSessionClosed, f.Type, f.ID))
}

// fail ends the session after err on s and returns why it ended.
func (s *dstream) fail(err error) error {
	s.err = s.c.broken(err)
	return s.err
}

// retire closes s. While the session lives it does so in the background:
// it reads the reply still outstanding, so that the leader never writes to
// a stream reset under it, half-closes s and waits for the leader to close
// its end before s stops counting against the leader's limit.
func (s *dstream) retire() {
	if !s.c.track() {
		_ = s.st.Close() // the session is gone
		return
	}
	go s.drain()
}

// drain is the background part of retire.
func (s *dstream) drain() {
	defer s.c.watcher.Done()
	defer s.c.uncount(s)
	if s.id != 0 && s.err == nil {
		_, _ = s.recv(context.Background())
	}
	_ = s.st.Close()
	for !s.c.isDone() {
		_ = s.st.SetReadDeadline(time.Time{}) // a late expire may have set one
		_, err := io.Copy(io.Discard, s.st)
		if err == nil || !transport.IsTimeout(err) {
			return
		}
	}
}
