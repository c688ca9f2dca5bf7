package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

// rawStream performs the handshake by hand as client 7 and opens one
// yamux stream, so a test can write arbitrary frames.
func rawStream(t *testing.T, path string) (*yamux.Session, *yamux.Stream) {
	t.Helper()
	c := rawDial(t, path)
	if _, err := c.Write(helloBytes(2, validHello)); err != nil {
		t.Fatal(err)
	}
	if status, reason := readAnswer(t, c); status != 0 {
		t.Fatalf("handshake refused: %d %q", status, reason)
	}
	_ = c.SetDeadline(time.Time{})
	sess, err := transport.Client(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	return sess, st
}

// TestServer_MalformedFrames checks that each malformed input closes only
// the offending session, with the exact reason in the log.
func TestServer_MalformedFrames(t *testing.T) {
	frame := transport.AppendFrame(nil, 1, 5, []byte("hello"))
	tests := []struct {
		name   string
		wire   []byte
		fin    bool // close the stream after writing
		reason string
	}{
		{"unknown type", transport.AppendFrame(nil, 9, 1, []byte("x")), false, "unexpected frame type 9"},
		{"response type", transport.AppendFrame(nil, 2, 1, nil), false, "unexpected frame type 2"},
		{"goodbye type", transport.AppendFrame(nil, 3, 0, nil), false, "unexpected frame type 3"},
		{"too large", []byte{0x7f, 0xff, 0xff, 0xff, 1}, false,
			"read request: cyberdb: frame too large: 2147483647 bytes, limit 1048576"},
		{"length below header", []byte{0, 0, 0, 3, 1, 2, 3}, false, "read request: cyberdb: malformed frame"},
		{"truncated", frame[:len(frame)-1], true, "read request: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &echo{}
			srv := startServer(t, h, ipc.ServerConfig{Limits: smallLimits()})
			good := dial(t, srv.path, ipc.ClientConfig{ClientID: 1})
			sess, st := rawStream(t, srv.path)
			_, _ = st.Write(tt.wire) // the server may hang up before all is written
			if tt.fin {
				st.Close()
			}
			waitFor(t, "session closed", sess.IsClosed)
			want := fmt.Sprintf("client=7 reason=%q", tt.reason)
			waitFor(t, "log "+want, func() bool { return strings.Contains(srv.logs.String(), want) })
			waitFor(t, "PeerClosed", func() bool { return len(h.closedPeers()) == 1 })
			if got, err := good.Call(context.Background(), []byte("still")); err != nil || string(got) != "still" {
				t.Errorf("other client: %q, %v", got, err)
			}
		})
	}
}

func smallLimits() ipc.Limits {
	l := ipc.DefaultLimits()
	l.MaxMessageSize = 1 << 20
	return l
}

// TestServer_CutFrame cuts a valid request at every offset and closes the
// stream: only a cut inside the frame is an error, and the server lives on.
func TestServer_CutFrame(t *testing.T) {
	frame := transport.AppendFrame(nil, 1, 5, []byte("hello"))
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	for cut := 0; cut < len(frame); cut++ {
		sess, st := rawStream(t, srv.path)
		if _, err := st.Write(frame[:cut]); err != nil {
			t.Fatal(err)
		}
		st.Close()
		if cut == 0 {
			continue
		}
		waitFor(t, fmt.Sprintf("cut %d closes the session", cut), sess.IsClosed)
	}
	logs := srv.logs.String()
	if n := strings.Count(logs, `reason="read request: unexpected EOF"`); n != len(frame)-1 {
		t.Errorf("%d truncation reasons logged, want %d:\n%s", n, len(frame)-1, logs)
	}
	c := dial(t, srv.path, ipc.ClientConfig{})
	if _, err := c.Call(context.Background(), []byte("x")); err != nil {
		t.Errorf("server unusable after cut frames: %v", err)
	}
}

// panicky panics on the request "boom" and echoes anything else.
type panicky struct{ echo }

func (p *panicky) Handle(peer *ipc.Peer, req, dst []byte) []byte {
	if string(req) == "boom" {
		panic("boom")
	}
	return p.echo.Handle(peer, req, dst)
}

func TestServer_HandlerPanic(t *testing.T) {
	h := &panicky{}
	srv := startServer(t, h, ipc.ServerConfig{})
	victim := dial(t, srv.path, ipc.ClientConfig{ClientID: 66})
	other := dial(t, srv.path, ipc.ClientConfig{ClientID: 1})
	_, err := victim.Call(context.Background(), []byte("boom"))
	if !errors.Is(err, ipc.ErrSessionClosed) {
		t.Fatalf("Call = %v, want ErrSessionClosed", err)
	}
	<-victim.Done()
	if !errors.Is(victim.Err(), ipc.ErrSessionClosed) {
		t.Errorf("Err = %v", victim.Err())
	}
	if _, err := victim.Call(context.Background(), []byte("x")); !errors.Is(err, ipc.ErrSessionClosed) {
		t.Errorf("later Call = %v", err)
	}
	if got, err := other.Call(context.Background(), []byte("fine")); err != nil || string(got) != "fine" {
		t.Errorf("other client: %q, %v", got, err)
	}
	waitFor(t, "PeerClosed(66)", func() bool { return slicesEqual(h.closedPeers(), []uint64{66}) })
	logs := srv.logs.String()
	for _, want := range []string{`client=66 reason="handler panic: boom"`, "stack=", "uid="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func slicesEqual(a, b []uint64) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// huge replies with more than the server's limit.
type huge struct{ echo }

func (*huge) Handle(_ *ipc.Peer, _, dst []byte) []byte { return append(dst, make([]byte, 2<<20)...) }

func TestServer_ReplyTooLarge(t *testing.T) {
	srv := startServer(t, &huge{}, ipc.ServerConfig{Limits: smallLimits()})
	c := dial(t, srv.path, ipc.ClientConfig{})
	if _, err := c.Call(context.Background(), []byte("x")); !errors.Is(err, ipc.ErrSessionClosed) {
		t.Fatalf("Call = %v", err)
	}
	want := `reason="reply of 2097161 bytes exceeds the limit of 1048576"`
	waitFor(t, want, func() bool { return strings.Contains(srv.logs.String(), want) })
}

// blocker holds "wait" requests until released.
type blocker struct {
	echo
	started chan struct{}
	release chan struct{}
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (b *blocker) Handle(p *ipc.Peer, req, dst []byte) []byte {
	if string(req) == "wait" {
		b.started <- struct{}{}
		<-b.release
	}
	return b.echo.Handle(p, req, dst)
}

// TestServer_Close checks that Close answers what was read, says goodbye
// to every client, waits, and makes Serve return nil.
func TestServer_Close(t *testing.T) {
	h := newBlocker()
	srv := startServer(t, h, ipc.ServerConfig{})
	clients := []*ipc.Client{dial(t, srv.path, ipc.ClientConfig{ClientID: 1}), dial(t, srv.path, ipc.ClientConfig{ClientID: 2})}
	inflight := make(chan error, 1)
	go func() {
		got, err := clients[0].Call(context.Background(), []byte("wait"))
		if err == nil && string(got) != "wait" {
			err = fmt.Errorf("reply %q", got)
		}
		inflight <- err
	}()
	<-h.started
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	time.AfterFunc(20*time.Millisecond, func() { close(h.release) })
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-inflight; err != nil {
		t.Errorf("in-flight call: %v", err)
	}
	for i, c := range clients {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("client %d not woken", i)
		}
		if err := c.Err(); err != ipc.ErrLeaderClosed || !errors.Is(err, ipc.ErrSessionClosed) {
			t.Errorf("client %d: Err = %v, want ErrLeaderClosed", i, err)
		}
		if _, err := c.Call(context.Background(), nil); !errors.Is(err, ipc.ErrLeaderClosed) {
			t.Errorf("client %d: Call after goodbye = %v", i, err)
		}
	}
	if err := <-srv.done; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if got := len(h.closedPeers()); got != 2 {
		t.Errorf("PeerClosed called %d times, want 2", got)
	}
}

func TestServer_CloseIdle(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := rawDial(t, srv.path) // stuck in its handshake
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for a handshake")
	}
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err == nil {
		t.Error("connection in handshake left open")
	}
	if strings.Contains(srv.logs.String(), "refused") {
		t.Errorf("Close logged a refusal:\n%s", srv.logs)
	}
}

func TestServer_ServeBadLimits(t *testing.T) {
	srv := ipc.NewServer(&echo{}, ipc.ServerConfig{Limits: ipc.Limits{MaxMessageSize: 1}})
	if err := srv.Serve(nil); err == nil || !strings.HasPrefix(err.Error(), "cyberdb: MaxMessageSize") {
		t.Errorf("Serve = %v", err)
	}
}

func TestServer_ServeAfterClose(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	srv.Close()
	l, err := transport.Listen(srv.path + "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(l); err != nil {
		t.Errorf("Serve after Close = %v", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Error("listener left open")
	}
}

func TestServer_TooManyStreams(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	sess, _ := rawStream(t, srv.path)
	for range ipc.MaxSessionStreams {
		if _, err := sess.OpenStream(); err != nil {
			break // the server hung up
		}
	}
	waitFor(t, "session closed", sess.IsClosed)
	want := fmt.Sprintf(`client=7 reason="more than %d streams"`, ipc.MaxSessionStreams)
	waitFor(t, want, func() bool { return strings.Contains(srv.logs.String(), want) })
}
