package ipc

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

const (
	// maxSessionStreams bounds the streams and lanes one client may have
	// open; a client blocked in many calls holds a dedicated stream each.
	maxSessionStreams = 1024
	// goodbyeGrace bounds how long a closing server waits for a client to
	// receive its replies and goodbyes and hang up.
	goodbyeGrace = 2 * time.Second
)

// tokenSize is the length of a session token.
const tokenSize = 16

// streamConn is what requests are served on: a yamux stream, or a lane
// (a raw connection attached to the session, see lane.go).
type streamConn interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Close() error
}

// session is the server side of one client: its yamux connection and
// the lanes attached to it.
type session struct {
	srv     *Server
	peer    *Peer
	token   string // names the session to the lanes that attach to it
	log     *slog.Logger
	streams sync.WaitGroup // stream and lane goroutines
	closing atomic.Bool    // the server is closing: say goodbye
	closed  atomic.Bool    // closeSession started: stream errors are expected
	lost    atomic.Bool    // the connection failed: stream errors are expected
	aborted sync.Once
	ended   sync.Once // closes peer.done

	mu    sync.Mutex              // protects the fields below
	ymx   *yamux.Session          // set by start
	ctl   *yamux.Stream           // the control stream, set by start
	bye   bool                    // the goodbye went out on ctl
	open  map[streamConn]struct{} // streams and lanes being served
	grace *time.Timer             // set by goodbye: closes the session when it fires
}

// newSession returns a session for peer with a fresh token, and gives peer
// its Done channel; start runs yamux on its connection.
func newSession(srv *Server, peer *Peer) (*session, error) {
	token := make([]byte, tokenSize)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	peer.done = make(chan struct{})
	return &session{
		srv:   srv,
		peer:  peer,
		token: string(token),
		log:   srv.log.With("pid", peer.Cred.PID, "uid", peer.Cred.UID, "client", peer.ClientID),
		open:  make(map[streamConn]struct{}),
	}, nil
}

// start runs yamux on conn, unless the session has already been closed.
func (ss *session) start(conn net.Conn) error {
	ymx, err := transport.Server(ss.watchHangUp(conn), transport.YamuxConfig(ss.srv.cfg.KeepAlive))
	if err != nil {
		return err
	}
	ctl, err := ymx.OpenStream()
	if err != nil {
		ymx.Close()
		return err
	}
	if !ss.setYamux(ymx, ctl) {
		ymx.Close()
		return ErrSessionClosed
	}
	return nil
}

// setYamux records the yamux session and its control stream unless the
// session has been closed. ymx.Close must not be called under ss.mu: it
// waits for yamux's reader, which may be waiting for ss.mu (hangUpConn).
func (ss *session) setYamux(ymx *yamux.Session, ctl *yamux.Stream) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed.Load() {
		return false
	}
	ss.ymx, ss.ctl = ymx, ctl
	if ss.grace != nil {
		ss.byeIfIdleLocked()
	}
	return true
}

// hangUpConn is a session's connection as yamux reads it. A failed read
// ends the session, so it first stops the stream readers: yamux readers
// spin between the session's shutdown and the closing of their streams,
// and a thousand of them starve the goroutine that closes the streams.
// Embedding *net.UnixConn keeps its writev for transport's header joining.
type hangUpConn struct {
	*net.UnixConn
	ss *session
}

// Read reads the connection, stopping the stream readers on an error.
func (c hangUpConn) Read(b []byte) (int, error) {
	n, err := c.UnixConn.Read(b)
	if err != nil {
		c.ss.stopReaders()
	}
	return n, err
}

// watchHangUp returns conn wrapped in a hangUpConn if it is a Unix socket.
func (ss *session) watchHangUp(conn net.Conn) net.Conn {
	if uc, ok := conn.(*net.UnixConn); ok {
		return hangUpConn{UnixConn: uc, ss: ss}
	}
	return conn
}

// stopReaders wakes every stream reader with a past deadline, once the
// session's connection is lost, so that each stops quietly.
func (ss *session) stopReaders() {
	ss.lost.Store(true)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for st := range ss.open {
		_ = st.SetReadDeadline(now)
	}
}

// run serves streams until the session ends, then reports the peer gone.
func (ss *session) run() {
	ss.log.Debug("cyberdb: client connected")
	ss.acceptStreams()
	ss.closeSession()
	ss.streams.Wait()
	ss.mu.Lock()
	if ss.grace != nil {
		ss.grace.Stop()
	}
	ss.mu.Unlock()
	ss.srv.h.PeerClosed(ss.peer)
	ss.log.Debug("cyberdb: client disconnected")
}

func (ss *session) acceptStreams() {
	ss.mu.Lock()
	ymx := ss.ymx
	ss.mu.Unlock()
	if ymx == nil {
		return
	}
	for {
		st, err := ymx.AcceptStream()
		if err != nil {
			return
		}
		if err := ss.add(st); err != nil {
			st.Close()
			ss.abort(err)
			return
		}
		go ss.serveStream(st)
	}
}

var errTooManyStreams = fmt.Errorf("more than %d streams", maxSessionStreams)

// add registers st and counts its goroutine. A stream that arrives while
// the session says goodbye is told goodbye at once.
func (ss *session) add(st streamConn) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed.Load() {
		return ErrSessionClosed
	}
	if len(ss.open) >= maxSessionStreams {
		return errTooManyStreams
	}
	ss.open[st] = struct{}{}
	ss.streams.Add(1)
	if ss.grace != nil {
		sayGoodbyeSoon(st)
	}
	return nil
}

// remove unregisters st.
func (ss *session) remove(st streamConn) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.open, st)
	if ss.grace != nil {
		ss.byeIfIdleLocked()
	}
}

// byeIfIdleLocked tells the client goodbye on the control stream once
// every stream and lane has answered what it read and said goodbye, so
// that no reply is left behind. ss.mu is held.
func (ss *session) byeIfIdleLocked() {
	if ss.bye || ss.ctl == nil || len(ss.open) > 0 {
		return
	}
	ss.bye = true
	go func(ctl *yamux.Stream) {
		_ = ctl.SetWriteDeadline(time.Now().Add(goodbyeGrace))
		_, _ = ctl.Write(transport.AppendFrame(nil, frameGoodbye, 0, nil))
	}(ss.ctl)
}

// goodbye makes every stream answer what it has read, send a Goodbye
// frame and stop. The client closes the session once all its streams have
// said goodbye; after goodbyeGrace the server closes it. It does not block.
func (ss *session) goodbye() {
	ss.closing.Store(true)
	ss.end()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.grace != nil {
		return
	}
	ss.grace = time.AfterFunc(goodbyeGrace, ss.closeSession)
	for st := range ss.open {
		sayGoodbyeSoon(st)
	}
	ss.byeIfIdleLocked()
}

// sayGoodbyeSoon wakes st's reader so it says goodbye, and bounds the
// time its writes may take.
func sayGoodbyeSoon(st streamConn) {
	now := time.Now()
	_ = st.SetReadDeadline(now)
	_ = st.SetWriteDeadline(now.Add(goodbyeGrace))
}

// end closes the peer's Done channel, once, so that handlers blocked on
// its behalf return before the session waits for its streams.
func (ss *session) end() {
	ss.ended.Do(func() { close(ss.peer.done) })
}

// abort closes the session at once, logging reason unless it is nil.
func (ss *session) abort(reason error) {
	ss.aborted.Do(func() {
		if reason != nil {
			ss.logAbort(reason)
		}
		ss.closeSession()
	})
}

// closeSession closes the yamux session and the lanes, then the peer's
// Done channel, so that no reply of a handler it wakes goes out. It first
// wakes every stream reader with a past deadline, since yamux readers spin
// between the session's shutdown and the closing of its streams, and
// contend with each Close for their stream's lock.
func (ss *session) closeSession() {
	ss.closed.Store(true)
	ss.mu.Lock()
	now := time.Now()
	for st := range ss.open {
		_ = st.SetReadDeadline(now)
	}
	for st := range ss.open {
		if _, stream := st.(*yamux.Stream); !stream {
			st.Close() // a lane; the session closes its streams
		}
	}
	ymx := ss.ymx
	ss.mu.Unlock()
	if ymx != nil {
		ymx.Close()
	}
	ss.end()
}

// ending reports whether the session is closing or its connection is
// gone, so that a stream's error is expected rather than a fault.
func (ss *session) ending() bool {
	if ss.closed.Load() || ss.lost.Load() {
		return true
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.ymx != nil && ss.ymx.IsClosed()
}

func (ss *session) logAbort(reason error) {
	var pe *panicError
	if errors.As(reason, &pe) {
		ss.log.Error("cyberdb: closing client session", "reason", reason, "stack", string(pe.stack))
		return
	}
	ss.log.Error("cyberdb: closing client session", "reason", reason)
}

// peerAttrs returns the log attributes of p and reason.
func peerAttrs(p *Peer, reason error) []any {
	return []any{"pid", p.Cred.PID, "uid", p.Cred.UID, "client", p.ClientID, "reason", reason}
}
