package ipc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

func TestClient_Concurrent(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{ClientID: 1})
	const workers, calls = 64, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- callMany(c, w, calls)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// callMany makes n calls with payloads unique to worker w and checks each
// reply; sizes vary so batches mix small and large frames.
func callMany(c *ipc.Client, w, n int) error {
	for i := range n {
		req := fmt.Appendf(nil, "%d/%d/", w, i)
		req = append(req, bytes.Repeat([]byte{byte(i)}, (i*37)%5000)...)
		got, err := c.Call(context.Background(), req)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, req) {
			return fmt.Errorf("worker %d call %d: reply of %d bytes differs", w, i, len(got))
		}
	}
	return nil
}

func TestClient_ContextCanceled(t *testing.T) {
	h := newBlocker()
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{Streams: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, []byte("wait"))
		done <- err
	}()
	<-h.started
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("Call = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Call ignored the canceled context")
	}
	close(h.release) // the late reply arrives and is dropped
	got, err := c.Call(context.Background(), []byte("next"))
	if err != nil || string(got) != "next" {
		t.Errorf("next Call = %q, %v", got, err)
	}
}

func TestClient_ContextDone(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Call(ctx, []byte("x")); err != context.Canceled {
		t.Errorf("Call = %v", err)
	}
}

func TestClient_Close(t *testing.T) {
	h := &echo{}
	srv := startServer(t, h, ipc.ServerConfig{})
	c := dial(t, srv.path, ipc.ClientConfig{ClientID: 9})
	for range 2 {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	<-c.Done()
	if c.Err() != ipc.ErrClientClosed {
		t.Errorf("Err = %v", c.Err())
	}
	if _, err := c.Call(context.Background(), []byte("x")); !errors.Is(err, ipc.ErrSessionClosed) {
		t.Errorf("Call after Close = %v", err)
	}
	waitFor(t, "PeerClosed(9)", func() bool { return slicesEqual(h.closedPeers(), []uint64{9}) })
}

func TestClient_RequestTooLarge(t *testing.T) {
	srv := startServer(t, &echo{}, ipc.ServerConfig{Limits: smallLimits()})
	c := dial(t, srv.path, ipc.ClientConfig{Limits: smallLimits()})
	_, err := c.Call(context.Background(), make([]byte, 1<<20))
	want := "cyberdb: frame too large: 1048585 bytes, limit 1048576"
	if !errors.Is(err, transport.ErrFrameTooLarge) || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if _, err := c.Call(context.Background(), make([]byte, 1<<20-9)); err != nil {
		t.Errorf("Call at the limit: %v", err)
	}
}

// fakeSession handshakes as a leader on a session connection and one
// lane, then hands the lane to then.
func fakeSession(t *testing.T, then func(net.Conn)) string {
	t.Helper()
	l, path := listenTemp(t)
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		serveFakeSession(l, then)
	}()
	return path
}

// serveFakeSession accepts a session and its lane on l and runs then on
// the lane.
func serveFakeSession(l net.Listener, then func(net.Conn)) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	readHello(c)
	if _, err := c.Write(answerBytes(2, 0, "0123456789abcdef")); err != nil {
		return
	}
	sess, err := transport.Server(c, nil)
	if err != nil {
		return
	}
	defer sess.Close()
	lane, err := l.Accept()
	if err != nil {
		return
	}
	defer lane.Close()
	readHello(lane)
	if _, err := lane.Write(answerBytes(2, 0, "")); err != nil {
		return
	}
	then(lane)
}

func TestClient_LeaderFailures(t *testing.T) {
	tests := []struct {
		name string
		then func(net.Conn)
		want string
	}{
		{"hang up", hangUpAfterRequest, "cyberdb: connection to leader lost"},
		{"unexpected frame", sendFrame(9, 1, nil), "cyberdb: connection to leader lost: unexpected frame type 9 from the leader"},
		{"request frame", sendFrame(1, 1, nil), "cyberdb: connection to leader lost: unexpected frame type 1 from the leader"},
		{"oversized reply", sendRaw([]byte{0x7f, 0, 0, 0}),
			"cyberdb: connection to leader lost: cyberdb: frame too large: 2130706432 bytes, limit 1048576"},
		{"goodbye", sendFrame(3, 0, nil), "cyberdb: leader closed the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fakeSession(t, tt.then)
			c := dial(t, path, ipc.ClientConfig{Streams: 1, Limits: smallLimits()})
			go func() { _, _ = c.Call(context.Background(), []byte("ping")) }()
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Done not closed")
			}
			if err := c.Err(); !errors.Is(err, ipc.ErrSessionClosed) || err.Error() != tt.want {
				t.Errorf("Err = %v, want %q", err, tt.want)
			}
			if _, err := c.Call(context.Background(), nil); err != c.Err() {
				t.Errorf("Call = %v, want %v", err, c.Err())
			}
		})
	}
}

// sendFrame answers on the client's lane with one frame and waits for
// the client to hang up.
func sendFrame(typ uint8, id uint64, body []byte) func(net.Conn) {
	return sendRaw(transport.AppendFrame(nil, typ, id, body))
}

// sendRaw writes wire on the client's lane and waits for the client to
// hang up.
func sendRaw(wire []byte) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = c.Write(wire)
		_, _ = io.Copy(io.Discard, c)
	}
}

// hangUpAfterRequest closes the lane once the first request arrives.
func hangUpAfterRequest(c net.Conn) {
	_, _ = transport.NewFrameReader(c, 1<<20).Next()
}

// TestClient_UnknownReply checks that a reply for no pending call (one
// canceled, say) is dropped.
func TestClient_UnknownReply(t *testing.T) {
	path := fakeSession(t, func(c net.Conn) {
		fr := transport.NewFrameReader(c, 1<<20)
		f, err := fr.Next()
		if err != nil {
			return
		}
		out := transport.AppendFrame(nil, 2, f.ID+1000, []byte("stray"))
		out = transport.AppendFrame(out, 2, f.ID, append([]byte("re:"), f.Body...))
		_, _ = c.Write(out)
		_, _ = io.Copy(io.Discard, c)
	})
	c := dial(t, path, ipc.ClientConfig{Streams: 1})
	got, err := c.Call(context.Background(), []byte("q"))
	if err != nil || string(got) != "re:q" {
		t.Errorf("Call = %q, %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		err    error
		msg    string
		parent error
	}{
		{ipc.ErrVersionMismatch, "cyberdb: protocol version mismatch", nil},
		{ipc.ErrDenied, "cyberdb: connection refused by leader: peer credentials not allowed", nil},
		{ipc.ErrSessionClosed, "cyberdb: connection to leader lost", nil},
		{ipc.ErrLeaderClosed, "cyberdb: leader closed the connection", ipc.ErrSessionClosed},
		{ipc.ErrClientClosed, "cyberdb: client closed", ipc.ErrSessionClosed},
		{ipc.ErrHandshake, "cyberdb: handshake failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if tt.err.Error() != tt.msg {
				t.Errorf("message %q", tt.err)
			}
			if tt.parent != nil && !errors.Is(tt.err, tt.parent) {
				t.Errorf("does not match %v", tt.parent)
			}
			if !strings.HasPrefix(tt.msg, "cyberdb: ") {
				t.Error("missing prefix")
			}
		})
	}
}
