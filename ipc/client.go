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
	// Streams is the number of lanes (raw connections attached to the
	// session) that carry the requests of all calls (default 4, at most
	// 64).
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

// Client is a connection to the leader: a yamux session, which carries
// keepalives, the leader's goodbye and dedicated streams, and a few lanes,
// which carry the calls. Concurrent calls on a lane are batched into few
// writes. A Client is safe for concurrent use; once its session is gone
// (see Done) every call fails.
type Client struct {
	sess    *yamux.Session
	streams []*clientStream
	maxBody int
	maxSize int           // the largest reply frame accepted
	next    atomic.Uint32 // round-robin stream choice
	ids     atomic.Uint64 // last request id
	watcher sync.WaitGroup

	done    chan struct{} // closed by fail
	failure sync.Once

	errMu sync.Mutex // protects err
	err   error      // why the session ended; set once by fail

	mu        sync.Mutex            // protects the fields below
	ended     bool                  // set by fail: nothing is pooled or started any more
	idle      []*dstream            // dedicated streams with no reply outstanding
	dedicated map[*dstream]struct{} // dedicated streams the leader may still count
	opening   int                   // dedicated streams being opened
}

// Dial connects to the leader's socket at path, performs the handshake and
// attaches the lanes; ctx bounds all of it.
func Dial(ctx context.Context, path string, cfg ClientConfig) (*Client, error) {
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	conn, err := transport.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	c, err := connect(ctx, conn, path, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// connect runs the handshake on conn, starts the session and attaches
// its lanes.
func connect(ctx context.Context, conn net.Conn, path string, cfg ClientConfig) (*Client, error) {
	h := hello{Version: cfg.Version, ClientID: cfg.ClientID, PID: int64(cfg.PID)}
	token, err := clientHandshake(ctx, conn, cfg.Version, h)
	if err != nil {
		return nil, err
	}
	if len(token) == 0 {
		return nil, fmt.Errorf("%w: the leader sent no session token", ErrHandshake)
	}
	sess, err := transport.Client(conn, transport.YamuxConfig(cfg.KeepAlive))
	if err != nil {
		return nil, err
	}
	lanes, err := dialLanes(ctx, path, cfg, token)
	if err != nil {
		sess.Close()
		return nil, err
	}
	c := &Client{
		sess:      sess,
		maxBody:   maxBody(cfg.Limits),
		maxSize:   cfg.Limits.MaxMessageSize,
		done:      make(chan struct{}),
		dedicated: make(map[*dstream]struct{}),
	}
	c.start(lanes)
	return c, nil
}

// dialLanes attaches cfg.Streams lanes to the session named by token.
func dialLanes(ctx context.Context, path string, cfg ClientConfig, token []byte) ([]net.Conn, error) {
	lanes := make([]net.Conn, 0, cfg.Streams)
	for range cfg.Streams {
		lane, err := dialLane(ctx, path, cfg, token)
		if err != nil {
			for _, l := range lanes {
				l.Close()
			}
			return nil, err
		}
		lanes = append(lanes, lane)
	}
	return lanes, nil
}

// start sets up the lanes and starts the watcher of the session.
func (c *Client) start(lanes []net.Conn) {
	for _, l := range lanes {
		c.streams = append(c.streams, newClientStream(c, l, c.maxSize))
	}
	c.watcher.Add(1)
	go c.watch()
}

// watch ends the client when the yamux session ends (the leader is gone,
// or a keepalive timed out) or when the leader says goodbye on its
// control stream.
func (c *Client) watch() {
	defer c.watcher.Done()
	st, err := c.sess.AcceptStream()
	if err != nil {
		c.fail(ErrSessionClosed)
		return
	}
	f, err := transport.NewFrameReader(st, maxHandshakeBody).Next()
	switch {
	case err != nil:
		c.fail(sessionError(err))
	case f.Type == frameGoodbye:
		c.fail(ErrLeaderClosed)
	default:
		c.fail(fmt.Errorf("%w: unexpected frame type %d on the control stream", ErrSessionClosed, f.Type))
	}
}

// Call sends req to the leader and returns the reply body, which the
// caller owns. It blocks until the reply arrives, the session is lost
// (ErrSessionClosed) or ctx is done (ctx.Err(); a late reply is dropped).
// req may be reused once Call returns.
func (c *Client) Call(ctx context.Context, req []byte) ([]byte, error) {
	return c.call(ctx, req, nil)
}

// Decoder decodes a reply body, which is valid only during the call.
type Decoder interface {
	DecodeReply(body []byte) error
}

// CallDecode is Call that hands the reply to d instead of copying it: d
// decodes it in place, out of the client's buffers, and its error is
// returned.
func (c *Client) CallDecode(ctx context.Context, req []byte, d Decoder) error {
	_, err := c.call(ctx, req, d)
	return err
}

func (c *Client) call(ctx context.Context, req []byte, d Decoder) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.checkSize(req); err != nil {
		return nil, err
	}
	s := c.streams[c.next.Add(1)%uint32(len(c.streams))]
	id := c.ids.Add(1)
	cl := getCall()
	cl.dec = d
	if err := s.send(id, cl, req); err != nil {
		putCall(cl)
		return nil, err
	}
	return s.wait(ctx, id, cl)
}

// checkSize refuses a request body that the leader's limit would refuse.
func (c *Client) checkSize(req []byte) error {
	if len(req) > c.maxBody {
		return &transport.FrameSizeError{Size: uint32(min(len(req)+9, 1<<32-1)), Limit: c.maxBody + 9}
	}
	return nil
}

// Done returns a channel that is closed when the session is gone, by
// Close, by the leader, or by a failure.
func (c *Client) Done() <-chan struct{} {
	return c.done
}

// isDone reports whether fail has run.
func (c *Client) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Err returns why the session is gone (an error matching
// ErrSessionClosed), or nil while it is alive.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Close ends the session; pending and later calls, on lanes and dedicated
// streams, fail with ErrClientClosed. It waits for the client's goroutines
// and is idempotent.
func (c *Client) Close() error {
	c.fail(ErrClientClosed)
	c.watcher.Wait()
	return nil
}

// fail ends the session with err, once, failing every pending call
// (closing the session wakes the readers of dedicated streams); later
// calls are no-ops.
func (c *Client) fail(err error) {
	c.failure.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		for _, s := range c.streams {
			s.st.Close()
			s.abort(err)
		}
		c.endDedicated()
		c.sess.Close()
	})
}

// broken fails the session after err on one of its streams and returns
// why the session ended, which is err unless it had already ended.
func (c *Client) broken(err error) error {
	c.fail(sessionError(err))
	return c.Err()
}
