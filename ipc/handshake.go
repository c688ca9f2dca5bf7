package ipc

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/cyberdb-go/cyberdb/transport"
)

// Handshake framing: see PROTOCOL.md.
const (
	magic            = "CYBERDB\n"
	handshakeTimeout = 5 * time.Second
	maxHandshakeBody = 4 << 10
	helloHeaderSize  = len(magic) + 2 + 4
	replyHeaderSize  = len(magic) + 2 + 1 + 4
)

// status is the leader's answer to a hello.
type status uint8

const (
	statusOK        status = 0
	statusVersion   status = 1 // the versions differ
	statusDenied    status = 2 // the peer's uid and gid are not allowed
	statusMalformed status = 3 // the hello could not be read
)

// hello is the CBOR body of the client's first message.
type hello struct {
	Version  uint16 `cbor:"1,keyasint"`
	ClientID uint64 `cbor:"2,keyasint"`
	PID      int64  `cbor:"3,keyasint"`
	// Attach, when set, is the token of the client's session: the
	// connection becomes one of the session's lanes instead of a session.
	Attach []byte `cbor:"4,keyasint,omitempty"`
}

// reply is the leader's answer to a hello.
type reply struct {
	version uint16
	status  status
	body    []byte // the session token on success, else the reason
}

// reason returns the body as text fit for an error message.
func (r reply) reason() string { return printable(string(r.body)) }

// appendHello appends the client's hello message for version and h.
func appendHello(dst []byte, version uint16, h hello) ([]byte, error) {
	body, err := DefaultCodec.Marshal(h)
	if err != nil {
		return nil, err
	}
	dst = append(dst, magic...)
	dst = binary.BigEndian.AppendUint16(dst, version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...), nil
}

// readHello reads a hello message and returns its version and raw body.
func readHello(r io.Reader) (uint16, []byte, error) {
	var hdr [helloHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, handshakeError("read hello", err)
	}
	if string(hdr[:len(magic)]) != magic {
		return 0, nil, fmt.Errorf("%w: peer does not speak the cyberdb protocol", ErrHandshake)
	}
	version := binary.BigEndian.Uint16(hdr[len(magic):])
	body, err := readBody(r, binary.BigEndian.Uint32(hdr[len(magic)+2:]), "hello")
	return version, body, err
}

// parseHello decodes the body of a hello of the given version.
func parseHello(version uint16, body []byte) (hello, error) {
	var h hello
	if err := handshakeCodec.Unmarshal(body, &h); err != nil {
		return hello{}, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if h.Version != version {
		return hello{}, fmt.Errorf("%w: hello says version %d, header %d", ErrHandshake, h.Version, version)
	}
	return h, nil
}

// handshakeCodec decodes hellos within small limits.
var handshakeCodec = mustCodec(Limits{
	MaxMessageSize:   1024,
	MaxNestedLevels:  4,
	MaxArrayElements: 16,
	MaxMapPairs:      16,
})

// appendReply appends the leader's answer with status st and body: the
// session token on success, else the reason.
func appendReply(dst []byte, st status, body string) []byte {
	if len(body) > maxHandshakeBody {
		body = body[:maxHandshakeBody]
	}
	dst = append(dst, magic...)
	dst = binary.BigEndian.AppendUint16(dst, ProtocolVersion)
	dst = append(dst, byte(st))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// readReply reads the leader's answer.
func readReply(r io.Reader) (reply, error) {
	var hdr [replyHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return reply{}, handshakeError("read the leader's answer", err)
	}
	if string(hdr[:len(magic)]) != magic {
		return reply{}, fmt.Errorf("%w: the socket is not served by a cyberdb leader", ErrHandshake)
	}
	rep := reply{
		version: binary.BigEndian.Uint16(hdr[len(magic):]),
		status:  status(hdr[len(magic)+2]),
	}
	body, err := readBody(r, binary.BigEndian.Uint32(hdr[len(magic)+3:]), "answer")
	rep.body = body
	return rep, err
}

// readBody reads a handshake body of n bytes, at most maxHandshakeBody.
func readBody(r io.Reader, n uint32, what string) ([]byte, error) {
	if n > maxHandshakeBody {
		return nil, fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrHandshake, what, n, maxHandshakeBody)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, handshakeError("read "+what, err)
	}
	return body, nil
}

func handshakeError(doing string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrHandshake, doing, err)
}

// check turns the leader's answer into the client's error, if any.
func (r reply) check(version uint16) error {
	switch {
	case r.status == statusOK && r.version == version:
		return nil
	case r.status == statusOK || r.status == statusVersion:
		return versionError(version, r.version)
	case r.status == statusDenied:
		return fmt.Errorf("%w: %s", ErrDenied, r.reason())
	case r.status == statusMalformed:
		return fmt.Errorf("%w: the leader rejected the hello: %s", ErrHandshake, r.reason())
	}
	return fmt.Errorf("%w: unknown status %d from the leader", ErrHandshake, r.status)
}

func versionError(client, leader uint16) error {
	return fmt.Errorf("%w: client speaks %d, leader speaks %d", ErrVersionMismatch, client, leader)
}

// printable replaces what a terminal or log would misrender.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, strings.ToValidUTF8(s, "?"))
}

// rejection is why a server refused a hello.
type rejection struct {
	status status
	reason string // sent to the client
	err    error  // logged
}

// handshake reads and checks the hello on conn, within handshakeTimeout
// (the deadline stays set until accept). A refused hello is answered
// here. The Peer is returned even with an error, for the log.
func (s *Server) handshake(conn net.Conn) (*Peer, hello, error) {
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	peer, h, rej := s.checkHello(conn)
	if rej != nil {
		s.refuse(conn, peer, rej)
		return peer, h, rej.err
	}
	return peer, h, nil
}

// refuse logs why a hello was refused and answers it.
func (s *Server) refuse(conn net.Conn, peer *Peer, rej *rejection) {
	if !s.isClosing() {
		s.log.Warn("cyberdb: client refused", peerAttrs(peer, rej.err)...)
	}
	_, _ = conn.Write(appendReply(nil, rej.status, rej.reason))
}

// accept answers an accepted hello with body (the session token, or
// nothing for a lane) and lifts the handshake deadline.
func accept(conn net.Conn, body []byte) error {
	if _, err := conn.Write(appendReply(nil, statusOK, string(body))); err != nil {
		return handshakeError("answer hello", err)
	}
	return conn.SetDeadline(time.Time{})
}

// checkHello reads the hello and checks the peer and the version. The
// returned Peer is set (with the kernel's credentials) even on rejection,
// for the log.
func (s *Server) checkHello(conn net.Conn) (*Peer, hello, *rejection) {
	peer := &Peer{}
	cred, err := peerCred(conn)
	if err != nil {
		return peer, hello{}, &rejection{statusDenied, "peer credentials unavailable", fmt.Errorf("%w: %w", ErrDenied, err)}
	}
	peer.Cred = cred
	version, body, err := readHello(conn)
	if err != nil {
		return peer, hello{}, &rejection{statusMalformed, "malformed hello", err}
	}
	if !s.allowed(cred) {
		reason := fmt.Sprintf("uid %d, gid %d", cred.UID, cred.GID)
		return peer, hello{}, &rejection{statusDenied, reason, fmt.Errorf("%w: %s", ErrDenied, reason)}
	}
	if version != ProtocolVersion {
		reason := fmt.Sprintf("client speaks %d, leader speaks %d", version, ProtocolVersion)
		return peer, hello{}, &rejection{statusVersion, reason, fmt.Errorf("%w: %s", ErrVersionMismatch, reason)}
	}
	h, err := parseHello(version, body)
	if err != nil {
		return peer, hello{}, &rejection{statusMalformed, "malformed hello", err}
	}
	peer.ClientID = h.ClientID
	return peer, h, nil
}

// allowed reports whether cred may connect.
func (s *Server) allowed(cred transport.Cred) bool {
	return cred.UID == s.uid || slices.Contains(s.cfg.AllowUIDs, cred.UID) || slices.Contains(s.cfg.AllowGIDs, cred.GID)
}

// peerCred returns the kernel's credentials of conn's peer; only Unix
// sockets have them.
func peerCred(conn net.Conn) (transport.Cred, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return transport.Cred{}, fmt.Errorf("cyberdb: %T is not a Unix socket", conn)
	}
	return transport.PeerCred(uc)
}

// clientHandshake sends the hello h and checks the leader's answer,
// within handshakeTimeout and ctx. It returns the answer's body: the
// session token, or nothing for a lane.
func clientHandshake(ctx context.Context, conn net.Conn, version uint16, h hello) ([]byte, error) {
	deadline := time.Now().Add(handshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	body, err := exchangeHello(conn, version, h)
	if !stop() {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, ctxError(ctx, err)
	}
	return body, conn.SetDeadline(time.Time{})
}

// ctxError returns ctx's error instead of err when ctx is done or its
// deadline, which also bounded the connection, has passed.
func ctxError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return err
}

func exchangeHello(conn net.Conn, version uint16, h hello) ([]byte, error) {
	msg, err := appendHello(nil, version, h)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(msg); err != nil {
		return nil, handshakeError("send hello", err)
	}
	rep, err := readReply(conn)
	if err != nil {
		return nil, err
	}
	return rep.body, rep.check(version)
}
