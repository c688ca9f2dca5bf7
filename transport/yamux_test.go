package transport_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/transport"
	"github.com/hashicorp/yamux"
)

func TestYamuxConfig(t *testing.T) {
	tests := []struct {
		name      string
		keepAlive time.Duration
		enabled   bool
		interval  time.Duration
	}{
		{"off", 0, false, 30 * time.Second},
		{"negative", -time.Second, false, 30 * time.Second},
		{"on", 2 * time.Second, true, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := transport.YamuxConfig(tt.keepAlive)
			if err := yamux.VerifyConfig(c); err != nil {
				t.Fatal(err)
			}
			if c.EnableKeepAlive != tt.enabled || c.KeepAliveInterval != tt.interval {
				t.Errorf("keepalive = %v every %v", c.EnableKeepAlive, c.KeepAliveInterval)
			}
			if c.ConnectionWriteTimeout != transport.WriteTimeout || c.MaxStreamWindowSize != transport.StreamWindow {
				t.Errorf("write timeout %v, window %d", c.ConnectionWriteTimeout, c.MaxStreamWindowSize)
			}
			if c.LogOutput != io.Discard || c.StreamCloseTimeout > time.Minute || c.StreamOpenTimeout == 0 {
				t.Errorf("unsafe config %+v", c)
			}
		})
	}
}

// sessionPair returns connected client and server sessions over a real
// Unix socket.
func sessionPair(t testing.TB) (client, server *yamux.Session) {
	t.Helper()
	path := filepath.Join(sockDir(t), "sock")
	l, err := transport.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cc, err := transport.Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if client, err = transport.Client(cc, nil); err != nil {
		t.Fatal(err)
	}
	if server, err = transport.Server(sc, transport.YamuxConfig(time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestSession_Echo sends payloads of many sizes on several streams at once
// and checks each comes back intact, which exercises joined header writes.
func TestSession_Echo(t *testing.T) {
	client, server := sessionPair(t)
	go echoStreams(server)
	sizes := []int{1, 12, 100, 64 << 10, 3 << 20}
	errs := make(chan error, len(sizes))
	for _, size := range sizes {
		go func() { errs <- echoOnce(client, size) }()
	}
	for range sizes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if _, err := client.Ping(); err != nil {
		t.Errorf("ping: %v", err)
	}
}

func echoStreams(s *yamux.Session) {
	for {
		st, err := s.AcceptStream()
		if err != nil {
			return
		}
		go func() {
			defer st.Close()
			_, _ = io.Copy(st, st)
		}()
	}
}

func echoOnce(s *yamux.Session, size int) error {
	st, err := s.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	want := bytes.Repeat([]byte{byte(size)}, size)
	go func() { _, _ = st.Write(want) }()
	got := make([]byte, size)
	if _, err := io.ReadFull(st, got); err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return io.ErrShortBuffer
	}
	return nil
}

func TestServer_BadConfig(t *testing.T) {
	a, b, err := unixPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	bad := transport.YamuxConfig(0)
	bad.AcceptBacklog = 0
	if _, err := transport.Server(a, bad); err == nil {
		t.Error("Server accepted a bad config")
	}
	if _, err := transport.Client(b, bad); err == nil {
		t.Error("Client accepted a bad config")
	}
}
