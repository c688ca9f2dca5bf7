package ipc

import (
	"errors"
	"fmt"
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

// session is the server side of one client's connection.
type session struct {
	srv     *Server
	peer    *Peer
	ymx     *yamux.Session
	log     *slog.Logger
	streams sync.WaitGroup // stream goroutines
	closing atomic.Bool    // the server is closing: say goodbye
	closed  atomic.Bool    // closeSession started: stream errors are expected
	aborted sync.Once

	mu    sync.Mutex // protects open and grace
	open  map[*yamux.Stream]struct{}
	grace *time.Timer // set by goodbye: closes the session when it fires
}

func newSession(srv *Server, conn net.Conn, peer *Peer) (*session, error) {
	ymx, err := transport.Server(conn, transport.YamuxConfig(srv.cfg.KeepAlive))
	if err != nil {
		return nil, err
	}
	return &session{
		srv:  srv,
		peer: peer,
		ymx:  ymx,
		log:  srv.log.With("pid", peer.Cred.PID, "uid", peer.Cred.UID, "client", peer.ClientID),
		open: make(map[*yamux.Stream]struct{}),
	}, nil
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
	for {
		st, err := ss.ymx.AcceptStream()
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
func (ss *session) add(st *yamux.Stream) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
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
func (ss *session) remove(st *yamux.Stream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.open, st)
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
}

// sayGoodbyeSoon wakes st's reader so it says goodbye, and bounds the
// time its writes may take.
func sayGoodbyeSoon(st *yamux.Stream) {
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

// closeSession closes the yamux session. It first wakes the stream
// readers with a past deadline: yamux readers spin between the session's
// shutdown and the closing of its streams.
func (ss *session) closeSession() {
	ss.closed.Store(true)
	ss.mu.Lock()
	now := time.Now()
	for st := range ss.open {
		_ = st.SetReadDeadline(now)
	}
	ss.mu.Unlock()
	ss.ymx.Close()
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
