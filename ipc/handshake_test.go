package ipc_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// helloBytes builds a client hello by hand, as PROTOCOL.md specifies it.
func helloBytes(version uint16, body []byte) []byte {
	b := []byte("CYBERDB\n")
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

// validHello is the CBOR map {1: 2, 2: 7, 3: 99}.
var validHello = []byte{0xa3, 0x01, 0x02, 0x02, 0x07, 0x03, 0x18, 0x63}

// answerBytes builds a leader's answer by hand.
func answerBytes(version uint16, status byte, reason string) []byte {
	b := []byte("CYBERDB\n")
	b = binary.BigEndian.AppendUint16(b, version)
	b = append(b, status)
	b = binary.BigEndian.AppendUint32(b, uint32(len(reason)))
	return append(b, reason...)
}

// readAnswer reads a leader's answer and returns its status and reason.
func readAnswer(t *testing.T, c net.Conn) (byte, string) {
	t.Helper()
	hdr := make([]byte, 15)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if string(hdr[:8]) != "CYBERDB\n" {
		t.Fatalf("answer magic %q", hdr[:8])
	}
	reason := make([]byte, binary.BigEndian.Uint32(hdr[11:]))
	if _, err := io.ReadFull(c, reason); err != nil {
		t.Fatalf("read reason: %v", err)
	}
	return hdr[10], string(reason)
}

func rawDial(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := transport.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestHandshake_OK(t *testing.T) {
	h := &echo{}
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{ClientID: 7, PID: os.Getpid()})
	got, err := c.Call(context.Background(), []byte("hi"))
	if err != nil || string(got) != "hi" {
		t.Fatalf("Call = %q, %v", got, err)
	}
}

// TestHandshake_ServerRejects sends hand-made hellos to a real server and
// checks its answer and its log.
func TestHandshake_ServerRejects(t *testing.T) {
	tests := []struct {
		name   string
		hello  []byte
		status byte
		reason string // in the answer
		log    string // in the server log
	}{
		{"ok", helloBytes(2, validHello), 0, "", "client connected"},
		{"newer client", helloBytes(3, []byte{0xa0}), 1, "client speaks 3, leader speaks 2",
			"cyberdb: protocol version mismatch: client speaks 3, leader speaks 2"},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 3, "malformed hello",
			"cyberdb: handshake failed: peer does not speak the cyberdb protocol"},
		{"oversized", helloBytes(2, make([]byte, 5000)), 3, "malformed hello",
			"cyberdb: handshake failed: hello of 5000 bytes exceeds 4096"},
		{"bad cbor", helloBytes(2, []byte{0xff}), 3, "malformed hello", "cyberdb: handshake failed: cyberdb: decode"},
		{"version disagrees", helloBytes(2, []byte{0xa1, 0x01, 0x03}), 3, "malformed hello",
			"cyberdb: handshake failed: hello says version 3, header 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, &echo{}, ipc.ServerConfig{})
			c := rawDial(t, srv.path)
			if _, err := c.Write(tt.hello); err != nil {
				t.Fatal(err)
			}
			status, reason := readAnswer(t, c)
			if status == 0 && len(reason) == 16 {
				reason = "" // the session token
			}
			if status != tt.status || reason != tt.reason {
				t.Errorf("answer = %d %q, want %d %q", status, reason, tt.status, tt.reason)
			}
			waitFor(t, "log "+tt.log, func() bool { return strings.Contains(srv.logs.String(), tt.log) })
		})
	}
}

// listenTemp listens on a socket in a fresh temporary directory.
func listenTemp(t *testing.T) (net.Listener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	l, err := transport.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	return l, path
}

// fakeLeader serves one connection on a fresh socket with answer, which
// may read the hello first.
func fakeLeader(t *testing.T, answer func(net.Conn)) string {
	t.Helper()
	l, path := listenTemp(t)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		answer(c)
	}()
	return path
}

func readHello(c net.Conn) {
	hdr := make([]byte, 14)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return
	}
	_, _ = io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[10:])))
}

func TestHandshake_ClientErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer []byte
		is     error
		msg    string
	}{
		{"older leader", answerBytes(7, 1, "whatever"), ipc.ErrVersionMismatch,
			"cyberdb: protocol version mismatch: client speaks 2, leader speaks 7"},
		{"ok from other version", answerBytes(1, 0, ""), ipc.ErrVersionMismatch,
			"cyberdb: protocol version mismatch: client speaks 2, leader speaks 1"},
		{"ok without a token", answerBytes(2, 0, ""), ipc.ErrHandshake,
			"cyberdb: handshake failed: the leader sent no session token"},
		{"denied", answerBytes(2, 2, "uid 5, gid 6"), ipc.ErrDenied,
			"cyberdb: connection refused by leader: peer credentials not allowed: uid 5, gid 6"},
		{"malformed", answerBytes(2, 3, "malformed hello"), ipc.ErrHandshake,
			"cyberdb: handshake failed: the leader rejected the hello: malformed hello"},
		{"unknown status", answerBytes(2, 9, ""), ipc.ErrHandshake,
			"cyberdb: handshake failed: unknown status 9 from the leader"},
		{"foreign", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), ipc.ErrHandshake,
			"cyberdb: handshake failed: the socket is not served by a cyberdb leader"},
		{"oversized", answerBytes(2, 3, strings.Repeat("x", 5000)), ipc.ErrHandshake,
			"cyberdb: handshake failed: answer of 5000 bytes exceeds 4096"},
		{"hang up", nil, ipc.ErrHandshake, "cyberdb: handshake failed: read the leader's answer: EOF"},
		{"control chars", answerBytes(2, 2, "a\x1b[2Jb"), ipc.ErrDenied,
			"cyberdb: connection refused by leader: peer credentials not allowed: a?[2Jb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fakeLeader(t, func(c net.Conn) {
				readHello(c)
				_, _ = c.Write(tt.answer)
			})
			_, err := ipc.Dial(context.Background(), path, ipc.ClientConfig{})
			if !errors.Is(err, tt.is) || err.Error() != tt.msg {
				t.Errorf("err = %v\nwant %q (%v)", err, tt.msg, tt.is)
			}
		})
	}
}

func TestHandshake_VersionSkew(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	_, err := ipc.Dial(context.Background(), srv.path, ipc.ClientConfig{Version: 1})
	want := "cyberdb: protocol version mismatch: client speaks 1, leader speaks 2"
	if !errors.Is(err, ipc.ErrVersionMismatch) || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestHandshake_Timeout(t *testing.T) {
	release := make(chan struct{})
	path := fakeLeader(t, func(net.Conn) { <-release })
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ipc.Dial(ctx, path, ipc.ClientConfig{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dial took %v", d)
	}
}

func TestHandshake_Canceled(t *testing.T) {
	release := make(chan struct{})
	path := fakeLeader(t, func(net.Conn) { <-release })
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := ipc.Dial(ctx, path, ipc.ClientConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want Canceled", err)
	}
}

func TestDial_Config(t *testing.T) {
	tests := []struct {
		name string
		cfg  ipc.ClientConfig
		msg  string
	}{
		{"too many streams", ipc.ClientConfig{Streams: 65}, "cyberdb: Streams 65 out of range [1, 64]"},
		{"negative streams", ipc.ClientConfig{Streams: -1}, "cyberdb: Streams -1 out of range [1, 64]"},
		{"bad limits", ipc.ClientConfig{Limits: ipc.Limits{MaxMessageSize: 10}},
			"cyberdb: MaxMessageSize 10 out of range [1024, 1GiB]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ipc.Dial(context.Background(), "/nonexistent/sock", tt.cfg)
			if err == nil || err.Error() != tt.msg {
				t.Errorf("err = %v, want %q", err, tt.msg)
			}
		})
	}
}
