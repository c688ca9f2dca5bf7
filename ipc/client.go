package ipc

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

// Client defaults and bounds.
const (
	defaultStreams = 4
	maxStreams     = 64
)

// ClientConfig configures Dial. The zero value of each field means its
// default.
type ClientConfig struct {
	ClientID uint64 // identifies this client to the leader (logs, deduplication)
	PID      int    // the caller's process id, sent in the hello
	// Streams is the number of request streams shared by all calls
	// (default 4, at most 64).
	Streams int
	// Limits bounds the replies the client accepts (default DefaultLimits).
	Limits Limits
	// KeepAlive is the interval of yamux keepalive pings; 0 turns them off.
	KeepAlive time.Duration
	// Version is the protocol version to announce (default
	// ProtocolVersion); tests set it to simulate version skew.
	Version uint16
}

// normalized returns cfg with defaults filled in, or an error.
func (cfg ClientConfig) normalized() (ClientConfig, error) {
	if cfg.Streams == 0 {
		cfg.Streams = defaultStreams
	}
	if cfg.Version == 0 {
		cfg.Version = ProtocolVersion
	}
	cfg.Limits = orDefault(cfg.Limits)
	if cfg.Streams < 1 || cfg.Streams > maxStreams {
		return cfg, fmt.Errorf("cyberdb: Streams %d out of range [1, %d]", cfg.Streams, maxStreams)
	}
	return cfg, cfg.Limits.Validate()
}

// Client is a connection to the leader. Its calls share a few streams, so
// concurrent calls are batched into few writes. A Client is safe for
// concurrent use; once its session is gone (see Done) every call fails.
type Client struct {
	sess    *yamux.Session
	streams []*clientStream
	maxBody int
	next    atomic.Uint32 // round-robin stream choice
	ids     atomic.Uint64 // last request id
	readers sync.WaitGroup

	done    chan struct{} // closed by fail
	failure sync.Once

	errMu sync.Mutex // protects the fields below
	err   error      // why the session ended; set once by fail
	cause error      // the first failure seen, while readers wind down
	live  int        // stream readers still running
	byes  int        // streams on which the leader said goodbye
}

// Dial connects to the leader's socket at path, performs the handshake and
// opens the request streams; ctx bounds all of it.
func Dial(ctx context.Context, path string, cfg ClientConfig) (*Client, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	conn, err := transport.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	c, err := connect(ctx, conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// connect runs the handshake on conn and starts the session.
func connect(ctx context.Context, conn net.Conn, cfg ClientConfig) (*Client, error) {
	if err := clientHandshake(ctx, conn, cfg); err != nil {
		return nil, err
	}
	sess, err := transport.Client(conn, transport.YamuxConfig(cfg.KeepAlive))
	if err != nil {
		return nil, err
	}
	c := &Client{sess: sess, maxBody: maxBody(cfg.Limits), done: make(chan struct{})}
	if err := c.openStreams(cfg); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// openStreams opens every request stream, then starts their readers.
func (c *Client) openStreams(cfg ClientConfig) error {
	for range cfg.Streams {
		st, err := c.sess.OpenStream()
		if err != nil {
			return fmt.Errorf("%w: open stream: %w", ErrSessionClosed, err)
		}
		c.streams = append(c.streams, newClientStream(c, st, cfg.Limits.MaxMessageSize))
	}
	c.live = len(c.streams)
	c.readers.Add(len(c.streams))
	for _, s := range c.streams {
		go s.readLoop()
	}
	return nil
}

// Call sends req to the leader and returns the reply body, which the
// caller owns. It blocks until the reply arrives, the session is lost
// (ErrSessionClosed) or ctx is done (ctx.Err(); a late reply is dropped).
// req may be reused once Call returns.
func (c *Client) Call(ctx context.Context, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req) > c.maxBody {
		return nil, &transport.FrameSizeError{Size: uint32(min(len(req)+9, 1<<32-1)), Limit: c.maxBody + 9}
	}
	s := c.streams[c.next.Add(1)%uint32(len(c.streams))]
	id := c.ids.Add(1)
	cl := getCall()
	if err := s.send(id, cl, req); err != nil {
		putCall(cl)
		return nil, err
	}
	return s.wait(ctx, id, cl)
}

// Done returns a channel that is closed when the session is gone, by
// Close, by the leader, or by a failure.
func (c *Client) Done() <-chan struct{} {
	return c.done
}

// Err returns why the session is gone (an error matching
// ErrSessionClosed), or nil while it is alive.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Close ends the session; pending and later calls fail with
// ErrClientClosed. It waits for the client's goroutines and is idempotent.
func (c *Client) Close() error {
	c.fail(ErrClientClosed)
	c.readers.Wait()
	return nil
}

// lose records the first failure and closes the yamux session, so every
// stream reader ends; the last one decides the session's error.
func (c *Client) lose(err error) {
	c.errMu.Lock()
	if c.cause == nil {
		c.cause = sessionError(err)
	}
	c.errMu.Unlock()
	c.closeSession()
}

// readerDone accounts for a stream reader that ended with err. The last
// one ends the session: with ErrLeaderClosed if the leader said goodbye
// on any stream, else with the first failure; then it fails every call
// still pending.
func (c *Client) readerDone(err error) {
	if err != ErrLeaderClosed {
		c.lose(err)
	}
	c.errMu.Lock()
	if err == ErrLeaderClosed {
		c.byes++
	}
	c.live--
	last, final := c.live == 0, c.cause
	if c.byes > 0 {
		final = ErrLeaderClosed
	}
	c.errMu.Unlock()
	if !last {
		return
	}
	c.fail(final)
	for _, s := range c.streams {
		s.abort(c.Err())
	}
}

// fail ends the session with err, once; later calls are no-ops.
func (c *Client) fail(err error) {
	c.failure.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		c.closeSession()
	})
}

// closeSession closes the yamux session. It first wakes the stream
// readers with a past deadline: yamux readers spin between the session's
// shutdown and the closing of its streams.
func (c *Client) closeSession() {
	now := time.Now()
	for _, s := range c.streams {
		_ = s.st.SetReadDeadline(now)
	}
	c.sess.Close()
}
