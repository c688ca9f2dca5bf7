package ipc

import (
	"context"
	"fmt"
	"net"

	"github.com/cyberdb-go/cyberdb/transport"
)

// A lane is a raw connection that a client attaches to its session and
// sends requests on, with the same frames as a request stream. Requests
// take the hot path this way: a frame crosses no yamux goroutine on
// either side, so a call costs about one socket round trip. The yamux
// session stays the session's lifeline (keepalive, goodbye) and the home
// of streams that are not requests.

// serveLane attaches conn to the session named by token and serves its
// requests until it ends. Only the process that opened the session may
// attach to it.
func (s *Server) serveLane(conn net.Conn, peer *Peer, token []byte) {
	defer conn.Close()
	ss, rej := s.laneSession(peer, token)
	if rej != nil {
		untrack(s, s.conns, conn)
		s.refuse(conn, peer, rej)
		return
	}
	// Answered, the lane is the session's to close: it leaves the list of
	// connections in their handshake first, as a session's connection
	// does, so that a Close meanwhile cannot take it for a stray one. A
	// lane that joins a session saying goodbye is told so at once (add).
	untrack(s, s.conns, conn)
	if accept(conn, nil) != nil || ss.add(conn) != nil {
		return
	}
	ss.serveStream(conn)
}

// laneSession returns the session a lane asks to attach to, or why it may
// not.
func (s *Server) laneSession(peer *Peer, token []byte) (*session, *rejection) {
	ss := s.session(token)
	if ss == nil {
		return nil, &rejection{statusMalformed, "no such session", fmt.Errorf("%w: a lane names no open session", ErrHandshake)}
	}
	if peer.Cred.PID != ss.peer.Cred.PID || peer.Cred.UID != ss.peer.Cred.UID {
		reason := fmt.Sprintf("the session belongs to pid %d, not %d", ss.peer.Cred.PID, peer.Cred.PID)
		return nil, &rejection{statusDenied, reason, fmt.Errorf("%w: %s", ErrDenied, reason)}
	}
	return ss, nil
}

// dialLane opens one lane of the session named by token.
func dialLane(ctx context.Context, path string, cfg ClientConfig, token []byte) (net.Conn, error) {
	conn, err := transport.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	h := hello{Version: cfg.Version, ClientID: cfg.ClientID, PID: int64(cfg.PID), Attach: token}
	if _, err := clientHandshake(ctx, conn, cfg.Version, h); err != nil {
		conn.Close()
		return nil, fmt.Errorf("attach a lane: %w", err)
	}
	return conn, nil
}
