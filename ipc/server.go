package ipc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
)

// Peer is a client connected to a Server, as its handshake and the kernel
// identified it. A Peer is immutable.
type Peer struct {
	ClientID uint64
	Cred     transport.Cred

	done chan struct{} // closed when the session starts to end; set before Handle runs
}

// Done returns a channel that is closed as soon as p's session starts to
// end: the client hung up or broke the protocol, or the server is closing.
// A Handler blocked on p's behalf should return when it is closed; its reply
// is still delivered if the server is closing gracefully. Done returns nil,
// which never closes, for a Peer that no Server made.
func (p *Peer) Done() <-chan struct{} {
	return p.done
}

// Flusher is an optional interface of a Handler whose replies may be
// written only once something has happened, such as the writes they
// acknowledge reaching the disk.
type Flusher interface {
	// HandleMarked is Handle that also returns a mark for the reply, such
	// as the log position of the write it acknowledges, or 0 if the reply
	// may be written at once.
	HandleMarked(p *Peer, req []byte, dst []byte) ([]byte, uint64)
	// Flush is called before a batch of replies to p that holds a marked
	// one is written, with the highest mark of the batch, and may block.
	// It runs on a goroutine of its own for each stream, which writes the
	// stream's batches in order while the stream goes on applying
	// requests; a batch without marks that follows a held one waits for
	// it. An error closes p's session without writing the batch.
	Flush(p *Peer, mark uint64) error
}

// Handler applies requests on behalf of a Server.
type Handler interface {
	// Handle applies one request body from p and appends the reply body to
	// dst. It runs inline on the stream's reader goroutine and may run
	// concurrently for different streams and peers; req is valid only
	// until it returns. It may block on a request that the client sent on
	// a dedicated stream, but no longer than until p.Done() is closed.
	Handle(p *Peer, req []byte, dst []byte) []byte
	// PeerClosed is called once when p's session ends, after its last
	// Handle call has returned.
	PeerClosed(p *Peer)
}

// ServerConfig configures a Server. The zero value of each field means
// its default.
type ServerConfig struct {
	Logger *slog.Logger // nil means slog.Default()
	// AllowUIDs and AllowGIDs admit peers besides those running as the
	// server process's own uid.
	AllowUIDs, AllowGIDs []uint32
	// Limits bounds the requests the server accepts (default
	// DefaultLimits).
	Limits Limits
	// KeepAlive is the interval of yamux keepalive pings; 0 turns them off.
	KeepAlive time.Duration
}

// Server accepts clients on Unix sockets and hands their requests to a
// Handler. Its methods are safe for concurrent use.
type Server struct {
	h      Handler
	cfg    ServerConfig
	log    *slog.Logger
	uid    uint32        // the uid always admitted
	closed chan struct{} // closed by Close
	wg     sync.WaitGroup

	mu        sync.Mutex // protects the fields below
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{} // connections in their handshake
	sessions  map[string]*session   // by token
}

// NewServer returns a Server that hands requests to h.
func NewServer(h Handler, cfg ServerConfig) *Server {
	cfg.Limits = orDefault(cfg.Limits)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.AllowUIDs = slices.Clone(cfg.AllowUIDs)
	cfg.AllowGIDs = slices.Clone(cfg.AllowGIDs)
	return &Server{
		h:         h,
		cfg:       cfg,
		log:       cfg.Logger,
		uid:       uint32(os.Getuid()),
		closed:    make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
		sessions:  make(map[string]*session),
	}
}

// Serve accepts connections on l until Close, which closes l, then returns
// nil; called after Close it closes l at once. It returns an error, leaving
// l open, if the limits are invalid or l fails for good.
func (s *Server) Serve(l net.Listener) error {
	if err := s.cfg.Limits.Validate(); err != nil {
		return err
	}
	if !track(s, s.listeners, l) {
		l.Close()
		return nil
	}
	defer untrack(s, s.listeners, l)
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return nil
			}
			if backoff, err = s.acceptFailed(err, backoff); err != nil {
				return err
			}
			continue
		}
		backoff = 0
		s.start(conn)
	}
}

// acceptFailed pauses after a transient Accept error and returns the
// next pause; any other error it returns.
func (s *Server) acceptFailed(err error, backoff time.Duration) (time.Duration, error) {
	if !transient(err) {
		return 0, fmt.Errorf("cyberdb: accept: %w", err)
	}
	backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
	s.log.Warn("cyberdb: accept failed; retrying", "err", err, "delay", backoff)
	select {
	case <-time.After(backoff):
	case <-s.closed:
	}
	return backoff, nil
}

// transient reports whether an Accept error may go away by itself.
func transient(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// start serves conn on a new goroutine, unless the server is closing.
func (s *Server) start(conn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	go s.serveConn(conn)
}

// serveConn runs the handshake of one connection, then serves it as a
// new session or as a lane of an existing one.
func (s *Server) serveConn(conn net.Conn) {
	defer s.wg.Done()
	peer, h, err := s.handshake(conn)
	if err != nil {
		untrack(s, s.conns, conn)
		conn.Close()
		return
	}
	if h.Attach != nil {
		s.serveLane(conn, peer, h.Attach)
		return
	}
	s.serveSession(conn, peer)
}

// serveSession registers a session for conn, answers the hello with its
// token and serves it until it ends.
func (s *Server) serveSession(conn net.Conn, peer *Peer) {
	defer conn.Close()
	ss, err := newSession(s, peer)
	if err != nil {
		untrack(s, s.conns, conn)
		s.log.Error("cyberdb: cannot start session", peerAttrs(peer, err)...)
		return
	}
	registered := s.addSession(ss)
	untrack(s, s.conns, conn)
	if !registered {
		return
	}
	defer s.removeSession(ss)
	if err := accept(conn, []byte(ss.token)); err != nil {
		ss.abort(nil)
	} else if err := ss.start(conn); err != nil {
		ss.abort(err)
	}
	ss.run()
}

// addSession registers ss unless the server is closing.
func (s *Server) addSession(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[ss.token] = ss
	return true
}

// removeSession unregisters ss.
func (s *Server) removeSession(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, ss.token)
}

// session returns the session named by token, or nil.
func (s *Server) session(token []byte) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[string(token)]
}

// Close stops accepting, closes every Peer's Done channel, tells every
// client goodbye after answering the requests already read, closes every
// session and waits for the server's goroutines. It is idempotent and safe
// to call concurrently.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closing = true
	close(s.closed)
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.goodbye()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) isClosing() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// track adds v to the set m, guarded by s.mu, unless s is closing.
func track[T comparable](s *Server, m map[T]struct{}, v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	m[v] = struct{}{}
	return true
}

// untrack removes v from the set m, guarded by s.mu.
func untrack[T comparable](s *Server, m map[T]struct{}, v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(m, v)
}

// Sessions returns the number of clients attached now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
