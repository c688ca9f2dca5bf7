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
	// maxSessionStreams bounds the streams one client may open.
	maxSessionStreams = 256
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
	aborted sync.Once

	mu    sync.Mutex              // protects the fields below
	ymx   *yamux.Session          // set by start
	ctl   *yamux.Stream           // the control stream, set by start
	bye   bool                    // the goodbye went out on ctl
	open  map[streamConn]struct{} // streams and lanes being served
	grace *time.Timer             // set by goodbye: closes the session when it fires
}

// newSession returns a session for peer with a fresh token; start runs
// yamux on its connection.
func newSession(srv *Server, peer *Peer) (*session, error) {
	token := make([]byte, tokenSize)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
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
	ymx, err := transport.Server(conn, transport.YamuxConfig(ss.srv.cfg.KeepAlive))
	if err != nil {
		return err
	}
	ctl, err := ymx.OpenStream()
	if err != nil {
		ymx.Close()
		return err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed.Load() {
		ymx.Close()
		return ErrSessionClosed
	}
	ss.ymx, ss.ctl = ymx, ctl
	if ss.grace != nil {
		ss.byeIfIdleLocked()
	}
	return nil
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

// abort closes the session at once, logging reason unless it is nil.
func (ss *session) abort(reason error) {
	ss.aborted.Do(func() {
		if reason != nil {
			ss.logAbort(reason)
		}
		ss.closeSession()
	})
}

// closeSession closes the yamux session and the lanes. It first wakes
// the stream readers with a past deadline: yamux readers spin between the
// session's shutdown and the closing of its streams.
func (ss *session) closeSession() {
	ss.closed.Store(true)
	ss.mu.Lock()
	now := time.Now()
	for st := range ss.open {
		_ = st.SetReadDeadline(now)
		if _, lane := st.(net.Conn); lane {
			st.Close()
		}
	}
	ymx := ss.ymx
	ss.mu.Unlock()
	if ymx != nil {
		ymx.Close()
	}
}

// ending reports whether the session is closing or its connection is
// gone, so that a stream's error is expected rather than a fault.
func (ss *session) ending() bool {
	if ss.closed.Load() {
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
